"""How the generation thread serves: where it compiles, what a failing compiled step
does, how often it wakes the event loop, and that it queues a step before reading one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from bot.backends.hf.batching.engine import Engine
from bot.backends.hf.batching.readback import PendingTokens
from bot.backends.hf.synthetic import save_tiny_model
from tests.backends.hf_helpers import WINDOW
from tests.backends.test_hf_scheduler import QUESTIONS, answer, make_backend


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-serving"), sliding_window=WINDOW)


def recording_compile(
    monkeypatch: pytest.MonkeyPatch, *, fail_after: int | None = None
) -> list[str]:
    """Replace torch.compile: the 'compiled' step records its thread, then runs eagerly.

    After `fail_after` calls it raises, as a cudagraph tree does when a graph recorded
    in another thread must re-record.
    """
    threads: list[str] = []

    def fake_compile(fn: Callable[..., Any], **_: Any) -> Callable[..., Any]:
        def compiled(*args: Any) -> Any:
            threads.append(threading.current_thread().name)
            if fail_after is not None and len(threads) > fail_after:
                raise AssertionError("cudagraph tree: recorded in another thread")
            return fn(*args)

        return compiled

    monkeypatch.setattr(torch, "compile", fake_compile)
    return threads


async def test_compiles_and_replays_in_the_generation_thread(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = recording_compile(monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # compile=auto: on
    backend = make_backend(model_dir, compile="auto", device="auto")
    await backend.start()
    try:
        assert backend.engine is not None and backend.engine.compiled
        warm_up = len(threads)
        assert warm_up == 3 * len(backend.engine.buckets)  # compile, record, replay each
        await asyncio.gather(*(answer(backend, q, new_tokens=6) for q in QUESTIONS[:2]))
    finally:
        await backend.aclose()
    assert len(threads) > warm_up  # the answers went through the compiled step
    assert set(threads) == {"medgemma-generate"}


async def test_a_failing_compiled_step_falls_back_to_eager(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    eager = make_backend(model_dir, compile="off")
    await eager.start()
    try:
        expected = [await answer(eager, q, new_tokens=12) for q in QUESTIONS[:3]]
    finally:
        await eager.aclose()
    recording_compile(monkeypatch, fail_after=3 * 2)  # buckets 2 and 4 warm up, then fail
    backend = make_backend(model_dir, compile="on")
    await backend.start()
    try:
        got = await asyncio.gather(*(answer(backend, q, new_tokens=12) for q in QUESTIONS[:3]))
        engine = backend.engine
        assert engine is not None
    finally:
        await backend.aclose()
    assert list(got) == expected  # no answer failed, none changed
    assert engine.runner.stats.fallbacks == 3  # then it stopped trying
    assert not engine.compiled


async def test_one_event_loop_wake_up_per_step(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launches = count_launches(monkeypatch)
    backend = make_backend(model_dir, ignore_eos=True)
    await backend.start()
    loop = asyncio.get_running_loop()
    wake_ups = 0
    real = loop.call_soon_threadsafe

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal wake_ups
        wake_ups += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
    try:
        texts = await asyncio.gather(*(answer(backend, q, new_tokens=24) for q in QUESTIONS[:4]))
    finally:
        await backend.aclose()
    chunks = sum(len(t) for t in texts)  # byte-level tokens: about a character each
    assert chunks > 60
    # Per step one wake-up for all rows; a few more for the four preparations finishing.
    assert wake_ups <= len(launches) + 4 + 4
    assert wake_ups < chunks / 2


async def test_the_next_step_is_queued_before_the_last_is_read(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = count_launches(monkeypatch, reads=True)
    backend = make_backend(model_dir, ignore_eos=True)
    await backend.start()
    try:
        await answer(backend, QUESTIONS[2], new_tokens=8)
    finally:
        await backend.aclose()
    # The first token comes from the prefill; each step's tokens are read only after the
    # step that follows has been queued.
    assert order[:6] == ["launch", "launch", "read", "launch", "read", "launch"]


def count_launches(monkeypatch: pytest.MonkeyPatch, *, reads: bool = False) -> list[str]:
    """Record every `Engine.launch` (and, with `reads`, every read of its tokens)."""
    order: list[str] = []
    real_launch = Engine.launch
    real_result = PendingTokens.result

    def launch(self: Engine, active: int) -> PendingTokens:
        order.append("launch")
        return real_launch(self, active)

    def result(self: PendingTokens) -> list[int]:
        order.append("read")
        return real_result(self)

    monkeypatch.setattr(Engine, "launch", launch)
    if reads:
        monkeypatch.setattr(PendingTokens, "result", result)
    return order
