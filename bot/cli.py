"""The `medgemma-bot` command: run, ask, bench, doctor, manifest.

Each command imports only what it needs, so `bench` runs where the Slack packages are
not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

from bot.errors import BackendUnavailable, ConfigError
from bot.settings import CompileMode, Device
from bot.specialty import SPECIALTIES, Specialty


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medgemma-bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="connect to Slack and answer questions")
    run.add_argument(
        "--http", action="store_true", help="serve the HTTP Events API instead of Socket Mode"
    )
    run.add_argument("--port", type=int, default=3000, help="HTTP port (with --http)")
    run.add_argument(
        "--host",
        default="0.0.0.0",
        help="address of the HTTP server: events (with --http), health and metrics",
    )
    ask = sub.add_parser("ask", help="answer a question about local images in the terminal")
    ask.add_argument("images", nargs="*", type=Path, help="image, DICOM or zip files")
    ask.add_argument(
        "-q", "--question", default="", help="the question (default: describe the findings)"
    )
    ask.add_argument("--chat", action="store_true", help="keep asking follow-up questions")
    ask.add_argument("--specialty", choices=SPECIALTIES)
    bench = sub.add_parser("bench", help="measure the in-process backend's speed")
    bench.add_argument("--tiny", action="store_true", help="a toy model on the CPU, in seconds")
    bench.add_argument("--model", help="real weights (a Hub id or folder) instead of random ones")
    bench.add_argument("--concurrency", default="1,8,32", help="comma-separated levels")
    bench.add_argument("--new-tokens", type=int, default=256)
    bench.add_argument("--prompt-tokens", type=int, default=331)
    bench.add_argument("--compile", choices=get_args(CompileMode), default="auto")
    bench.add_argument("--device", choices=get_args(Device), default="auto")
    bench.add_argument("--no-baseline", action="store_true", help="skip timing model.generate()")
    bench.add_argument("--json", type=Path, help="also write the report here")
    sub.add_parser("doctor", help="check tokens, scopes, GPU and model access")
    manifest = sub.add_parser("manifest", help="print the Slack app manifest")
    manifest.add_argument("--request-url", help="HTTP mode: https://your.host/slack/events")
    manifest.add_argument("--name", default="MedGemma")
    return parser


async def _run(args: argparse.Namespace) -> None:
    from bot import logs
    from bot.backends import create_backend
    from bot.prompts import load_prompts
    from bot.settings import load_settings
    from bot.slack.app import build_app
    from bot.slack.runner import Runner

    settings = load_settings()
    logs.setup(level=settings.log_level, fmt=settings.log_format)
    settings.require_slack(http=args.http)
    prompts = load_prompts(settings.prompts_dir)
    backend = create_backend(settings)
    # A bad Slack token fails here, before minutes of model loading.
    runner = Runner(await build_app(settings=settings, prompts=prompts, backend=backend))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        # The probes answer while the model loads (liveness: alive; readiness: not yet).
        if args.http:
            await runner.listen(host=args.host, port=args.port, events=True)
        elif settings.health_port:
            await runner.listen(host=args.host, port=settings.health_port)
        await runner.start_backend()
        if args.http:
            await runner.http(host=args.host, port=args.port)
        else:
            await runner.socket_mode()
        await stopping.wait()
    finally:
        await runner.stop()
        await backend.aclose()


async def _ask(args: argparse.Namespace) -> None:
    from bot import logs
    from bot.backends import create_backend
    from bot.prompts import load_prompts
    from bot.settings import load_settings
    from bot.terminal import ask

    settings = load_settings()
    logs.setup(level="WARNING", fmt="text")
    prompts = load_prompts(settings.prompts_dir)
    backend = create_backend(settings)
    await backend.start()
    try:
        await ask(
            settings=settings,
            prompts=prompts,
            backend=backend,
            images=args.images,
            question=args.question,
            chat=args.chat,
            specialty=Specialty(args.specialty) if args.specialty else None,
        )
    finally:
        await backend.aclose()


async def _bench(args: argparse.Namespace) -> None:
    from bot import logs
    from bot.bench import dumps, run_bench, table

    logs.setup(level="WARNING", fmt="text")
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    report = await run_bench(
        tiny=args.tiny,
        model=args.model,
        concurrency=levels,
        new_tokens=args.new_tokens,
        prompt_tokens=args.prompt_tokens,
        compile_mode=args.compile,
        device=args.device,
        baseline=not args.no_baseline,
    )
    print(table(report))
    print(dumps(report))
    if args.json:
        args.json.write_text(dumps(report) + "\n", encoding="utf-8")


async def _doctor(_: argparse.Namespace) -> int:
    from bot.doctor import doctor

    return await doctor()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    if args.command == "manifest":
        from bot.slack.manifest import manifest_yaml

        print(manifest_yaml(name=args.name, request_url=args.request_url), end="")
        return 0
    try:
        if args.command == "run":
            asyncio.run(_run(args))
        elif args.command == "ask":
            asyncio.run(_ask(args))
        elif args.command == "bench":
            asyncio.run(_bench(args))
        elif args.command == "doctor":
            return asyncio.run(_doctor(args))
    except ConfigError as exc:
        print(f"medgemma-bot: {exc.detail}", file=sys.stderr)
        return 2
    except BackendUnavailable as exc:
        print(f"medgemma-bot: the model backend could not start: {exc.detail}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
