"""`medgemma-bot bench`: throughput of the in-process backend, and proof of what it ran.

By default the model has random weights of the exact medgemma-4b-it shape (speed does
not depend on the weights' values; nothing is downloaded); `--model` measures real
weights; `--tiny` runs the same code on a toy model in seconds on the CPU. Each
concurrency level sends that many one-image questions at once (about 330 prompt
tokens, 256 new tokens each, end-of-turn ignored), twice, through the bot's scheduler
and through plain `model.generate()` in the same run. The report also holds the
compile counters (graphs, graph breaks, CUDA-graph skips, recompiles and eager
fallbacks while serving), the memory estimate beside the measured peak, and a check of
one served step against transformers' eager path in float32: NaN fails the run.

Imports nothing from the Slack side (nor dotenv: settings come from the environment
only), so it runs on a GPU box with only torch, transformers, accelerate, pillow and
numpy installed, from a checkout: `python3 -m bot bench`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image

from bot.backends import engine_options, load_options
from bot.backends.base import ChatMessage, ImagePart, TextPart
from bot.backends.hf import synthetic
from bot.backends.hf.backend import TransformersBackend
from bot.backends.hf.batching.compiled import dynamo_counters
from bot.backends.hf.check import check_step
from bot.backends.hf.loader import LoadOptions, choose_device, choose_dtype, load
from bot.commands.bench.measure import (
    Row,
    generate_wave,
    measure,
    peak_gib,
    scheduler_wave,
    static_wave,
)
from bot.commands.bench.report import decision, dumps, speedup
from bot.settings import CompileMode, Device, load_settings

SYSTEM = "You are an expert radiologist."
RUNS = 2  # per concurrency level and path


class BenchCheckFailed(Exception):
    """The served step's logits were not finite: the figures mean nothing."""


@dataclasses.dataclass(frozen=True)
class BenchOptions:
    """What `bench` measures (from the command line)."""

    tiny: bool
    model: str | None
    concurrency: Sequence[int]
    new_tokens: int
    prompt_tokens: int
    compile_mode: CompileMode
    device: Device
    paths: Sequence[str] = ("scheduler", "static")  # and "generate": plain generate()
    json_path: Path | None = None  # rewritten after each measured row


def _random_loader(*, tiny: bool, device: str, dtype: torch.dtype) -> Any:
    def loader(options: LoadOptions) -> tuple[Any, Any]:
        from transformers import Gemma3ForConditionalGeneration

        if tiny:
            config = synthetic.tiny_config(sliding_window=512)
            processor = synthetic.build_processor(
                synthetic.TINY_IDS, image_size=28, tokens_per_image=4
            )
        else:
            config = synthetic.medgemma_4b_config()
            processor = synthetic.build_processor(
                synthetic.MEDGEMMA_IDS, image_size=896, tokens_per_image=256
            )
        default = torch.get_default_dtype()
        torch.set_default_dtype(dtype)  # build in the target dtype: half the memory and time
        try:
            with torch.device(device):
                model = Gemma3ForConditionalGeneration(config)
        finally:
            torch.set_default_dtype(default)
        model.set_attn_implementation(options.attention)
        return processor, model.eval()

    return loader


def _question(backend: TransformersBackend, target_tokens: int) -> tuple[ChatMessage, ...]:
    """A one-image question padded with text to about `target_tokens` prompt tokens."""
    image = Image.new("RGB", (1024, 1024), (90, 90, 90))
    words = "Describe the findings on this chest radiograph."
    messages = (
        ChatMessage("system", (TextPart(SYSTEM),)),
        ChatMessage("user", (ImagePart(image), TextPart(words))),
    )
    base = backend.count_prompt_tokens(messages)
    if base < target_tokens:  # the byte-level test tokenizer: one token per character
        filler = " " + "x" * (target_tokens - base - 1)
        messages = (messages[0], ChatMessage("user", (ImagePart(image), TextPart(words + filler))))
    return messages


def _backend(
    options: BenchOptions, device: Literal["cuda", "cpu"], dtype: torch.dtype
) -> TransformersBackend:
    """The backend at the configured settings, batch as wide as the highest level."""
    settings = load_settings(dict(os.environ))  # MEDGEMMA_* apply; no .env file read
    loader = (
        load if options.model else _random_loader(tiny=options.tiny, device=device, dtype=dtype)
    )
    needed = options.prompt_tokens + options.new_tokens + 64
    return TransformersBackend(
        # HF_TOKEN and MEDGEMMA_REVISION still apply to --model.
        load_options=dataclasses.replace(
            load_options(settings), model=options.model or "random", device=device
        ),
        engine_options=dataclasses.replace(
            engine_options(settings),
            max_batch=max(options.concurrency),
            slot_tokens=max(settings.slot_tokens, -(-needed // 1024) * 1024),
            max_waiting=max(options.concurrency),
            compile=options.compile_mode,
            ignore_eos=True,
        ),
        progress=lambda message: print(f"[bench] {message}", flush=True),
        loader=loader,
    )


async def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Load, warm up, measure every level on every path, check; return the JSON report."""
    device = choose_device(options.device)
    dtype = choose_dtype("auto", device)
    backend = _backend(options, device, dtype)
    await backend.start()
    try:
        report = _header(options, backend, device, dtype)
        report["memory"]["startup_peak_gib"] = peak_gib()
        messages = _question(backend, options.prompt_tokens)
        report["prompt_tokens"] = backend.count_prompt_tokens(messages)
        await scheduler_wave(backend, messages, concurrency=1, new_tokens=8)  # warm the path
        await _measure_all(options, backend, messages, report)
        check = await _check(backend, messages)
        report["check"] = dataclasses.asdict(check) | {"finite": check.finite}
        _save(options, report)
        if not check.finite:
            raise BenchCheckFailed("the served step's logits are not finite")
        return report
    finally:
        await backend.aclose()


def _waves(options: BenchOptions, compile: bool) -> list[tuple[str, Callable[..., Any]]]:
    """The paths to measure, in the order they run at each level."""
    waves: dict[str, Callable[..., Any]] = {
        "scheduler": scheduler_wave,
        "static": functools.partial(static_wave, compile=compile),
        "generate": generate_wave,
    }
    order = [p for p in ("scheduler", "static", "generate") if p in options.paths]
    return [(path, waves[path]) for path in order]


async def _measure_all(
    options: BenchOptions,
    backend: TransformersBackend,
    messages: tuple[ChatMessage, ...],
    report: dict[str, Any],
) -> None:
    """Each level on every path before the next level (so a run cut short still holds
    both paths at the levels it reached); saved after each row. A library path that
    fails is reported (`failed`, the traceback on stderr) and left out from then on:
    one GPU run must still bring back the engine's figures."""
    rows: list[Row] = []
    failed: dict[str, str] = report.setdefault("failed", {})
    serving = {"recompiles_while_serving": 0, "cudagraph_skips_while_serving": 0}
    for level in options.concurrency:
        for name, wave in _waves(options, report["static_compiled"]):
            if name in failed:
                continue

            def one(wave: Callable[..., Any] = wave, level: int = level) -> Any:
                return wave(backend, messages, concurrency=level, new_tokens=options.new_tokens)

            before = dynamo_counters()
            try:
                rows.append(await measure(name, level, one, runs=RUNS, warm_up=name == "static"))
            except Exception as exc:
                if name == "scheduler":
                    raise
                traceback.print_exc()
                failed[name] = f"{type(exc).__name__} at concurrency {level}"
            if name == "scheduler":  # what compiled while the engine served, not the others
                for key, value in _serving_counters(before).items():
                    serving[key] += value
            report["compile"].update(serving)
            _record(options, report, rows)
    assert backend.engine is not None
    report["compile"]["fallbacks"] = backend.engine.runner.stats.fallbacks


def _record(options: BenchOptions, report: dict[str, Any], rows: list[Row]) -> None:
    """The rows so far, their ratios, the verdict and the peak, saved."""
    report["results"] = [dataclasses.asdict(r) for r in rows]
    report["speedup"] = speedup(rows)
    report["decision"] = decision(report)
    peaks = [r.peak_memory_gib for r in rows if r.peak_memory_gib is not None]
    report["memory"]["peak_gib"] = max(peaks) if peaks else None
    _save(options, report)


def _header(
    options: BenchOptions, backend: TransformersBackend, device: str, dtype: torch.dtype
) -> dict[str, Any]:
    import transformers

    engine = backend.engine
    assert engine is not None and backend.memory is not None
    stats = engine.runner.stats
    return {
        "model": options.model
        or ("tiny random Gemma 3" if options.tiny else "random weights, medgemma-4b-it shape"),
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "dtype": str(dtype).removeprefix("torch."),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "compiled": engine.compiled,
        # transformers compiles generate()'s decoding itself, on accelerators only
        "static_compiled": backend.wants_compile and device == "cuda",
        "startup_s": round(backend.startup_seconds, 1),
        "prompt_tokens": 0,
        "new_tokens": options.new_tokens,
        "runs_per_level": RUNS,
        "rows": engine.rows,
        "slot_tokens": engine.slot_tokens,
        "compile": dataclasses.asdict(stats),
        "memory": {"estimate_gib": backend.memory.gib(), "peak_gib": None},
        "results": [],
    }


def _serving_counters(before: dict[str, int]) -> dict[str, int]:
    """Compiles and CUDA-graph skips since `before`: none is expected while serving."""
    now = dynamo_counters()
    return {
        "recompiles_while_serving": now["graphs"] - before["graphs"],
        "cudagraph_skips_while_serving": now["cudagraph_skips"] - before["cudagraph_skips"],
    }


async def _check(backend: TransformersBackend, messages: tuple[ChatMessage, ...]) -> Any:
    """The served step against eager float32, in the generation thread (last: see check)."""
    from bot.backends.base import GenerationRequest

    engine = backend.engine
    assert engine is not None
    prompt = backend.prepare_sync(GenerationRequest(messages=messages, max_new_tokens=1))
    return await asyncio.wrap_future(backend.scheduler.call(lambda: check_step(engine, prompt)))


def _save(options: BenchOptions, report: dict[str, Any]) -> None:
    if options.json_path is not None:
        options.json_path.write_text(dumps(report) + "\n", encoding="utf-8")
