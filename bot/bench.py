"""`medgemma-bot bench`: throughput of the in-process backend, measured token by token.

By default the model has random weights of the exact medgemma-4b-it shape (speed does
not depend on the weights' values; nothing is downloaded); `--model` measures real
weights; `--tiny` runs the same code on a toy model in seconds on the CPU. Each
concurrency level sends that many one-image questions at once (about 330 prompt
tokens, 256 new tokens each, end-of-turn ignored). The plain `generate()` path is timed
in the same run as the baseline.

Imports nothing from the Slack side, so it runs on a GPU box with only torch and
transformers installed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from PIL import Image

from bot.backends import load_options
from bot.backends.base import ChatMessage, GenerationRequest, ImagePart, TextPart
from bot.backends.hf import synthetic
from bot.backends.hf.backend import EngineOptions, TransformersBackend
from bot.backends.hf.loader import LoadOptions, choose_device, choose_dtype, load
from bot.settings import CompileMode, Device, load_settings

SYSTEM = "You are an expert radiologist."


@dataclass(frozen=True)
class Row:
    """One measured configuration."""

    path: str  # "scheduler" (this bot) or "generate" (the plain transformers path)
    concurrency: int
    ttft_ms: float  # median time to first token, preparation included
    tokens_per_s_per_answer: float  # median decoding speed of one answer
    tokens_per_s_total: float  # all tokens / wall time of the whole wave
    peak_memory_gib: float | None


def _random_loader(*, tiny: bool, device: str, dtype: torch.dtype) -> Any:
    def loader(_: LoadOptions) -> tuple[Any, Any]:
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
        config._attn_implementation = "sdpa"
        default = torch.get_default_dtype()
        torch.set_default_dtype(dtype)  # build in the target dtype: half the memory and time
        try:
            with torch.device(device):
                model = Gemma3ForConditionalGeneration(config)
        finally:
            torch.set_default_dtype(default)
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


async def _wave(
    backend: TransformersBackend,
    messages: tuple[ChatMessage, ...],
    *,
    concurrency: int,
    new_tokens: int,
) -> Row:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()

    async def one() -> tuple[float, float, int]:
        started = time.monotonic()
        request = GenerationRequest(messages=messages, max_new_tokens=new_tokens)
        prompt = await backend.prepare(request)
        ticket = backend.scheduler.submit(prompt, max_new_tokens=new_tokens)
        async for _ in ticket.stream():
            pass
        job = ticket.job
        first = job.first_token_at or time.monotonic()
        decode_s = max((job.finished_at or time.monotonic()) - first, 1e-9)
        return (
            first - started,
            job.generated / decode_s if job.generated > 1 else 0.0,
            job.generated,
        )

    wave_started = time.monotonic()
    results = await asyncio.gather(*(one() for _ in range(concurrency)))
    wall = time.monotonic() - wave_started
    return Row(
        path="scheduler",
        concurrency=concurrency,
        ttft_ms=round(statistics.median(r[0] for r in results) * 1000, 1),
        tokens_per_s_per_answer=round(statistics.median(r[1] for r in results), 1),
        tokens_per_s_total=round(sum(r[2] for r in results) / wall, 1),
        peak_memory_gib=_peak_gib(),
    )


def _peak_gib() -> float | None:
    if not torch.cuda.is_available():
        return None
    return round(torch.cuda.max_memory_allocated() / 2**30, 2)


def _baseline(
    backend: TransformersBackend, messages: tuple[ChatMessage, ...], new_tokens: int
) -> Row:
    """The seed notebook's path: `model.generate()` for one request, greedy."""
    assert backend.engine is not None
    model = backend.engine.model
    prompt = backend.prepare_sync(GenerationRequest(messages=messages, max_new_tokens=new_tokens))
    device, dtype = backend.engine.device, backend.engine.dtype
    inputs: dict[str, Any] = {
        "input_ids": prompt.input_ids[None].to(device),
        "attention_mask": torch.ones_like(prompt.input_ids)[None].to(device),
        "token_type_ids": prompt.token_type_ids[None].to(device),
    }
    if prompt.pixel_values is not None:
        inputs["pixel_values"] = prompt.pixel_values.to(device, dtype)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    kwargs = {"do_sample": False, "min_new_tokens": new_tokens, "max_new_tokens": new_tokens}
    with torch.inference_mode():
        model.generate(**inputs, max_new_tokens=1, do_sample=False)  # warm-up
        started = time.monotonic()
        model.generate(**inputs, **kwargs)
        wall = time.monotonic() - started
    rate = round(new_tokens / wall, 1)
    return Row("generate", 1, float("nan"), rate, rate, _peak_gib())


def _bench_backend(
    *, model: str | None, tiny: bool, device: Device, dtype: torch.dtype, engine: EngineOptions
) -> TransformersBackend:
    """The backend to measure: random weights unless `model` names real ones."""
    loader = load if model else _random_loader(tiny=tiny, device=device, dtype=dtype)
    return TransformersBackend(
        # HF_TOKEN and MEDGEMMA_REVISION still apply to --model.
        load_options=dataclasses.replace(
            load_options(load_settings()), model=model or "random", device=device
        ),
        engine_options=engine,
        progress=lambda message: print(f"[bench] {message}", flush=True),
        loader=loader,
    )


async def run_bench(
    *,
    tiny: bool,
    model: str | None,
    concurrency: Sequence[int],
    new_tokens: int,
    prompt_tokens: int,
    compile_mode: CompileMode,
    device: Device,
    baseline: bool,
) -> dict[str, Any]:
    """Load, warm up, measure every concurrency level; return the JSON report."""
    device = choose_device(device)
    dtype = choose_dtype("auto", device)
    engine = EngineOptions(
        max_batch=max(concurrency),
        slot_tokens=max(1024, -(-(prompt_tokens + new_tokens + 64) // 1024) * 1024),
        max_waiting=max(concurrency),
        compile=compile_mode,
        ignore_eos=True,
    )
    backend = _bench_backend(model=model, tiny=tiny, device=device, dtype=dtype, engine=engine)
    await backend.start()
    try:
        messages = _question(backend, prompt_tokens)
        await _wave(backend, messages, concurrency=1, new_tokens=8)  # warm the path once
        rows = [
            await _wave(backend, messages, concurrency=c, new_tokens=new_tokens)
            for c in concurrency
        ]
        if baseline:
            rows.append(await asyncio.to_thread(_baseline, backend, messages, new_tokens))
        assert backend.engine is not None
        return {
            "model": model
            or ("tiny random Gemma 3" if tiny else "random weights, medgemma-4b-it shape"),
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "dtype": str(dtype).removeprefix("torch."),
            "compiled": backend.engine.compiled,
            "startup_s": round(backend.startup_seconds, 1),
            "prompt_tokens": backend.count_prompt_tokens(messages),
            "new_tokens": new_tokens,
            "results": [asdict(r) for r in rows],
        }
    finally:
        await backend.aclose()


def table(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    lines = [
        f"{report['model']} on {report['device']} ({report['dtype']}, compiled: "
        f"{report['compiled']}, start-up {report['startup_s']} s, prompt "
        f"{report['prompt_tokens']} tokens, {report['new_tokens']} new tokens)",
        "",
        "| path | concurrency | TTFT ms | tokens/s per answer | tokens/s total | peak GiB |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        cells = [
            r["path"],
            r["concurrency"],
            r["ttft_ms"],
            r["tokens_per_s_per_answer"],
            r["tokens_per_s_total"],
            r["peak_memory_gib"],
        ]
        shown = ["-" if c is None or c != c else str(c) for c in cells]  # None or NaN
        lines.append("| " + " | ".join(shown) + " |")
    return "\n".join(lines)


def dumps(report: dict[str, Any]) -> str:
    """The report as JSON (NaN written as null)."""
    clean = json.loads(json.dumps(report).replace("NaN", "null"))
    return json.dumps(clean, indent=2)
