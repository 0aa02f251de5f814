"""The `medgemma-bot` command: run, ask, bench, eval, doctor, manifest.

Each command imports only what it needs, so `bench` runs where the Slack packages are
not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from bot.errors import BackendUnavailable, ConfigError
from bot.settings import CompileMode, Device
from bot.specialty import SPECIALTIES, Specialty

if TYPE_CHECKING:
    from bot.backends.base import Backend
    from bot.prompts import Prompts
    from bot.settings import Settings
    from bot.slack.wiring.runner import Runner


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medgemma-bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="connect to Slack and answer questions")
    run.add_argument(
        "--http", action="store_true", help="serve the HTTP Events API instead of Socket Mode"
    )
    run.add_argument("--port", type=int, default=3000, help="HTTP port (with --http)")
    run.add_argument(
        "--host", default="0.0.0.0", help="address of the events endpoint (with --http)"
    )
    ask = sub.add_parser("ask", help="answer a question about local images in the terminal")
    ask.add_argument(
        "images",
        nargs="*",
        type=Path,
        help="image, DICOM or zip files, or folders of them (a folder of DICOM slices: a series)",
    )
    ask.add_argument(
        "-q", "--question", default="", help="the question (default: describe the findings)"
    )
    ask.add_argument("--chat", action="store_true", help="keep asking follow-up questions")
    ask.add_argument("--specialty", choices=SPECIALTIES)
    _bench_parser(sub)
    _eval_parser(sub)
    sub.add_parser("doctor", help="check tokens, scopes, GPU and model access")
    manifest = sub.add_parser("manifest", help="print the Slack app manifest")
    manifest.add_argument("--request-url", help="HTTP mode: https://your.host/slack/events")
    manifest.add_argument("--name", default="MedGemma", help="the app's name (35 characters)")
    manifest.add_argument(
        "--view",
        choices=("agent", "assistant"),
        default="agent",
        help="agent_view (default), or the legacy assistant_view (MEDGEMMA_SLACK_VIEW)",
    )
    return parser


def _bench_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser("bench", help="measure the in-process backend's speed")
    bench.add_argument("--tiny", action="store_true", help="a toy model on the CPU, in seconds")
    bench.add_argument("--model", help="real weights (a Hub id or folder) instead of random ones")
    bench.add_argument("--concurrency", default="1,8,32", help="comma-separated levels")
    bench.add_argument("--new-tokens", type=int, default=256)
    bench.add_argument("--prompt-tokens", type=int, default=331)
    bench.add_argument("--compile", choices=get_args(CompileMode), default="auto")
    bench.add_argument("--device", choices=get_args(Device), default="auto")
    bench.add_argument(
        "--paths",
        default="scheduler,static",
        help="comma-separated: scheduler (the engine), static (generate() with a static cache, "
        "compiled on a GPU), generate (plain generate())",
    )
    bench.add_argument("--no-baseline", action="store_true", help="time the scheduler only")
    bench.add_argument(
        "--json", type=Path, help="also write the report here (rewritten after each row)"
    )


def _eval_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Light modules only: the parser is built for `bench` too, on machines without imaging.
    from bot.commands.eval.datasets import FORMATS
    from bot.commands.eval.questions import DEFAULT_CONCURRENCY, MODES

    ev = sub.add_parser("eval", help="score a benchmark folder through the bot's own pipeline")
    ev.add_argument("path", type=Path, help="VQA-RAD or SLAKE folder, or a labels .csv")
    ev.add_argument("--format", choices=FORMATS, help="default: detected from the folder")
    ev.add_argument("--split", help="vqa-rad: test|all; slake: test|validate|train (test)")
    ev.add_argument("--mode", choices=MODES, default="card", help="card (default) or bot")
    ev.add_argument("--limit", type=_positive, help="only the first N questions")
    ev.add_argument("--json", type=Path, help="also write the report, records included, here")
    ev.add_argument("--records", type=Path, help="the per-question JSON Lines file")
    ev.add_argument("--resume", action="store_true", help="continue the run in --records")
    ev.add_argument("--concurrency", type=_positive, default=DEFAULT_CONCURRENCY)
    ev.add_argument("--max-new-tokens", type=_positive, help="answer budget (card: 40)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


async def _run(args: argparse.Namespace) -> None:
    from bot import logs
    from bot.backends import create_backend
    from bot.prompts import load_prompts
    from bot.settings import load_settings

    settings = load_settings()
    logs.setup(level=settings.log_level, fmt=settings.log_format)
    settings.require_slack(http=args.http)
    stopping = _stop_on_signals()  # from here on, SIGINT and SIGTERM end start-up too
    prompts = load_prompts(settings.prompts_dir)
    backend = create_backend(settings)
    serving: list[Runner] = []
    try:
        start = asyncio.create_task(_start(args, settings, prompts, backend, serving))
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({start, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not start.done():  # asked to stop while loading or connecting
            logs.event(logging.getLogger("bot.cli"), "stopped_during_start_up")
            start.cancel()
        with suppress(asyncio.CancelledError):
            await start  # a start-up failure (a refused token) is raised here
        await stop
    finally:
        for runner in serving:
            await runner.stop()
        await backend.aclose()


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (no more KeyboardInterrupt inside the loop)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    return stopping


async def _start(
    args: argparse.Namespace,
    settings: Settings,
    prompts: Prompts,
    backend: Backend,
    serving: list[Runner],
) -> None:
    """Check Slack, listen, load the model, connect; `serving` gets the runner at once."""
    from bot import logs
    from bot.pipeline.limits import series_problem
    from bot.slack.wiring.app import build_app
    from bot.slack.wiring.runner import Runner

    # A bad token fails here, before minutes of model loading.
    runner = Runner(await build_app(settings=settings, prompts=prompts, backend=backend))
    serving.append(runner)
    if settings.health_port:  # the probes answer while the model loads (ready: not yet)
        await runner.listen(host=settings.health_host, port=settings.health_port)
    if args.http:
        await runner.listen(host=args.host, port=args.port, events=True)
    else:
        await runner.check_app_token()
    await runner.start_backend()
    if problem := series_problem(settings, backend.capabilities):
        log = logging.getLogger("bot.cli")
        logs.event(log, "series_limits", level=logging.WARNING, problem=problem)
    if args.http:
        await runner.http(host=args.host, port=args.port)
    else:
        await runner.socket_mode()


async def _ask(args: argparse.Namespace) -> int:
    from bot.commands.ask.command import ask_command

    return await ask_command(
        images=args.images,
        question=args.question,
        chat=args.chat,
        specialty=Specialty(args.specialty) if args.specialty else None,
    )


async def _bench(args: argparse.Namespace) -> int:
    from bot import logs
    from bot.commands.bench.command import BenchCheckFailed, BenchOptions, run_bench
    from bot.commands.bench.report import dumps, table

    logs.setup(level="WARNING", fmt="text")
    paths = ("scheduler",) if args.no_baseline else tuple(args.paths.split(","))
    if not set(paths) <= {"scheduler", "static", "generate"}:
        print(f"medgemma-bot: bench: unknown path in --paths {args.paths}", file=sys.stderr)
        return 2
    options = BenchOptions(
        tiny=args.tiny,
        model=args.model,
        concurrency=[int(c) for c in args.concurrency.split(",") if c.strip()],
        new_tokens=args.new_tokens,
        prompt_tokens=args.prompt_tokens,
        compile_mode=args.compile,
        device=args.device,
        paths=paths,
        json_path=args.json,
    )
    try:
        report = await run_bench(options)
    except BenchCheckFailed as exc:
        print(f"medgemma-bot: bench check failed: {exc}", file=sys.stderr)
        return 1
    print(table(report))
    print(dumps(report))
    return 0


async def _eval(args: argparse.Namespace) -> None:
    from bot import logs
    from bot.backends import create_backend
    from bot.commands.eval.command import EvalJob, Evaluation
    from bot.prompts import load_prompts
    from bot.settings import load_settings

    settings = load_settings()
    logs.setup(level="WARNING", fmt="text")
    prompts = load_prompts(settings.prompts_dir)
    job = EvalJob(
        path=args.path,
        format=args.format,
        split=args.split,
        mode=args.mode,
        limit=args.limit,
        json_out=args.json,
        records=args.records,
        resume=args.resume,
        concurrency=args.concurrency,
        max_new_tokens=args.max_new_tokens,
    )
    evaluation = Evaluation(job, settings=settings)  # a bad folder fails before the model loads
    backend = create_backend(settings)
    await backend.start()
    try:
        await evaluation.run(prompts=prompts, backend=backend)
    finally:
        await backend.aclose()


async def _doctor(_: argparse.Namespace) -> int:
    from bot.commands.doctor import doctor

    return await doctor()


def _manifest(args: argparse.Namespace) -> int:
    from bot.slack.wiring.manifest import ManifestError, manifest_yaml

    try:
        text = manifest_yaml(name=args.name, request_url=args.request_url, view=args.view)
    except ManifestError as exc:
        print(f"medgemma-bot manifest: {exc}", file=sys.stderr)
        return 2
    print(text, end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    if args.command == "manifest":
        return _manifest(args)
    try:
        if args.command == "run":
            asyncio.run(_run(args))
        elif args.command == "ask":
            return asyncio.run(_ask(args))
        elif args.command == "bench":
            return asyncio.run(_bench(args))
        elif args.command == "eval":
            asyncio.run(_eval(args))
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
