"""`bench`'s measurements: waves of questions through the scheduler or `generate()`.

Three paths: "scheduler" (this bot's engine), "static" (transformers' `generate()` with a
static cache and, on a GPU, compiled decoding: the path the engine must beat) and
"generate" (plain `generate()`, the seed notebook's). Each concurrency level is measured
`runs` times in a row, after one unmeasured warm-up run for the static path (where it
compiles and records its CUDA graphs; its duration is reported), and the row reports the
median of the runs and their spread, so a figure that moved between two runs shows it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import torch

from bot.backends.base import ChatMessage, GenerationRequest
from bot.backends.hf import static_generate
from bot.backends.hf.backend import TransformersBackend
from bot.backends.hf.static_generate import pad_batch


@dataclass(frozen=True)
class Run:
    """One wave: `concurrency` questions sent at once."""

    ttft_ms: float  # median time to first token, preparation included (NaN: not measured)
    tokens_per_s_per_answer: float  # median decoding speed of one answer
    tokens_per_s_total: float  # all tokens / wall time of the whole wave


@dataclass(frozen=True)
class Row:
    """One measured configuration: the medians of its runs and their spread."""

    path: str  # "scheduler" (this bot) or "generate" (the plain transformers path)
    concurrency: int
    ttft_ms: float
    tokens_per_s_per_answer: float
    tokens_per_s_total: float
    spread_pct: float  # (highest - lowest) / median of the runs' totals, in percent
    runs: list[Run]
    peak_memory_gib: float | None  # highest allocated during these runs (CUDA only)
    warmup_s: float | None = None  # the unmeasured first run (compiling), static path only


Wave = Callable[[], Awaitable[Run]]


async def measure(path: str, concurrency: int, wave: Wave, *, runs: int, warm_up: bool) -> Row:
    """Run `wave` `runs` times (after one unmeasured run if `warm_up`) and summarize."""
    warmup_s: float | None = None
    if warm_up:
        started = time.monotonic()
        await wave()
        warmup_s = round(time.monotonic() - started, 1)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    done = [await wave() for _ in range(runs)]
    totals = [r.tokens_per_s_total for r in done]
    median_total = statistics.median(totals)
    return Row(
        path=path,
        concurrency=concurrency,
        ttft_ms=_median(done, "ttft_ms"),
        tokens_per_s_per_answer=round(
            statistics.median(r.tokens_per_s_per_answer for r in done), 1
        ),
        tokens_per_s_total=round(median_total, 1),
        spread_pct=round((max(totals) - min(totals)) / median_total * 100, 1),
        runs=done,
        peak_memory_gib=peak_gib(),
        warmup_s=warmup_s,
    )


def _median(runs: list[Run], name: str) -> float:
    values: list[float] = [getattr(r, name) for r in runs]
    return round(statistics.median(values), 1)


def peak_gib() -> float | None:
    """The CUDA allocator's peak since the last reset, in GiB (None without CUDA)."""
    if not torch.cuda.is_available():
        return None
    return round(torch.cuda.max_memory_allocated() / 2**30, 2)


async def scheduler_wave(
    backend: TransformersBackend,
    messages: tuple[ChatMessage, ...],
    *,
    concurrency: int,
    new_tokens: int,
) -> Run:
    """`concurrency` questions through the bot's own path, timed token by token."""

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
        # The first token comes from the prefill: the decoding rate counts the rest.
        rate = (job.generated - 1) / decode_s if job.generated > 1 else 0.0
        return first - started, rate, job.generated

    wave_started = time.monotonic()
    results = await asyncio.gather(*(one() for _ in range(concurrency)))
    wall = time.monotonic() - wave_started
    return Run(
        ttft_ms=round(statistics.median(r[0] for r in results) * 1000, 1),
        tokens_per_s_per_answer=round(statistics.median(r[1] for r in results), 1),
        tokens_per_s_total=round(sum(r[2] for r in results) / wall, 1),
    )


async def static_wave(
    backend: TransformersBackend,
    messages: tuple[ChatMessage, ...],
    *,
    concurrency: int,
    new_tokens: int,
    compile: bool,
) -> Run:
    """`concurrency` questions as one static-cache `generate()`, timed step by step.

    Preparation is timed too (once: the questions are the same), so that time to first
    token means what it means for the scheduler. It runs in the generation thread.
    """
    assert backend.engine is not None
    engine = backend.engine
    times: list[float] = []

    def run() -> float:
        started = time.monotonic()
        request = GenerationRequest(messages=messages, max_new_tokens=new_tokens)
        prompt = backend.prepare_sync(request)
        batch = pad_batch(
            [prompt] * concurrency,
            pad_id=engine.pad_id,
            limit=concurrency,
            device=engine.device,
            dtype=engine.dtype,
        )
        static_generate.generate(
            engine.model,
            batch,
            max_new_tokens=new_tokens,
            on_step=lambda _: times.append(time.monotonic()),  # tokens reach the host
            stopped=lambda row, generated: generated >= new_tokens,
            compile=compile,
            ignore_eos=True,
        )
        return started

    started = await asyncio.wrap_future(backend.scheduler.call(run))
    wall = times[-1] - started
    # The first token comes from the prefill: the decoding rate counts the rest.
    rate = (len(times) - 1) / max(times[-1] - times[0], 1e-9)
    return Run(
        ttft_ms=round((times[0] - started) * 1000, 1),
        tokens_per_s_per_answer=round(rate, 1),
        tokens_per_s_total=round(len(times) * concurrency / wall, 1),
    )


async def generate_wave(
    backend: TransformersBackend,
    messages: tuple[ChatMessage, ...],
    *,
    concurrency: int,
    new_tokens: int,
) -> Run:
    """The seed notebook's path: one batched `model.generate()` call, greedy.

    It runs in the generation thread like all model work (the scheduler is idle then).
    """
    request = GenerationRequest(messages=messages, max_new_tokens=new_tokens)
    inputs = _generate_inputs(backend, backend.prepare_sync(request), concurrency)
    assert backend.engine is not None
    model = backend.engine.model
    fixed = {"do_sample": False, "min_new_tokens": new_tokens, "max_new_tokens": new_tokens}

    def run() -> float:
        with torch.inference_mode():
            model.generate(**inputs, do_sample=False, max_new_tokens=2)  # warm-up
            _synchronize()
            started = time.monotonic()
            model.generate(**inputs, **fixed)
            _synchronize()
            return time.monotonic() - started

    wall = await asyncio.wrap_future(backend.scheduler.call(run))
    rate = round(new_tokens / wall, 1)
    return Run(float("nan"), rate, round(rate * concurrency, 1))


def _generate_inputs(backend: TransformersBackend, prompt: Any, copies: int) -> dict[str, Any]:
    """The same prompt `copies` times (no padding needed), on the model's device."""
    assert backend.engine is not None
    device, dtype = backend.engine.device, backend.engine.dtype
    ids = prompt.input_ids[None].expand(copies, -1)
    inputs: dict[str, Any] = {
        "input_ids": ids.to(device),
        "attention_mask": torch.ones_like(ids).to(device),
        "token_type_ids": prompt.token_type_ids[None].expand(copies, -1).to(device),
    }
    if prompt.pixel_values is not None:
        inputs["pixel_values"] = torch.cat([prompt.pixel_values] * copies).to(device, dtype)
    return inputs


def _synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
