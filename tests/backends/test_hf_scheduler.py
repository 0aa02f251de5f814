"""The transformers backend's scheduler: streams, stops, cancellation, limits, memory."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch

from bot.backends import engine_options, load_options
from bot.backends.base import GenerationRequest
from bot.backends.hf.backend import TransformersBackend
from bot.backends.hf.batching.engine import Engine
from bot.backends.hf.synthetic import save_tiny_model
from bot.errors import BackendOutOfMemory, Busy
from bot.settings import Settings
from tests.backends.hf_helpers import WINDOW, load_tiny, question
from tests.e2e.harness import wait_until

QUESTIONS = [
    question(f"Question number {i}: what do you see?", images=i % 3, shade=20 * i) for i in range(6)
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-sched"), sliding_window=WINDOW)


def make_backend(model_dir: Path, device: Any = "cpu", **options: Any) -> TransformersBackend:
    settings = Settings(model=str(model_dir), device=device)
    defaults: dict[str, Any] = {
        "max_batch": 4,
        "slot_tokens": 256,
        "max_waiting": 16,
        "compile": "off",
    }
    defaults.update(options)
    return TransformersBackend(
        load_options=load_options(settings),
        engine_options=dataclasses.replace(engine_options(settings), **defaults),
        loader=lambda _: load_tiny(model_dir),
    )


async def answer(
    backend: TransformersBackend,
    messages: Any,
    new_tokens: int = 24,
    places: list[int] | None = None,
) -> str:
    request = GenerationRequest(
        messages=messages,
        max_new_tokens=new_tokens,
        on_queue_position=places.append if places is not None else None,
    )
    return "".join([chunk async for chunk in backend.stream(request)])


async def test_concurrent_answers_equal_one_at_a_time(model_dir: Path) -> None:
    solo = make_backend(model_dir, max_batch=1)
    await solo.start()
    try:
        alone = [await answer(solo, q) for q in QUESTIONS]
    finally:
        await solo.aclose()
    assert len(set(alone)) == len(alone)  # different questions, different answers
    batched = make_backend(model_dir, max_batch=3)
    await batched.start()
    try:
        places: list[list[int]] = [[] for _ in QUESTIONS]
        together = await asyncio.gather(
            *(answer(batched, q, places=p) for q, p in zip(QUESTIONS, places, strict=True))
        )
    finally:
        await batched.aclose()
    assert list(together) == alone
    # Three rows for six questions: at least three waited, saw their place in line
    # move up, then started.
    waited = [p for p in places if p and p[0] > 0]
    assert len(waited) >= 3
    assert all(p[-1] == 0 and p == sorted(p, reverse=True) for p in places)
    assert max(p[0] for p in places) >= 3


async def test_a_stop_token_ends_the_answer(model_dir: Path) -> None:
    backend = make_backend(model_dir)
    await backend.start()
    try:
        prompt = await backend.prepare(GenerationRequest(messages=QUESTIONS[1], max_new_tokens=24))
        tokens: list[int] = []
        engine = backend.engine
        assert engine is not None
        tokens += engine.prefill([prompt], [0])
        while len(tokens) < 10:
            tokens += engine.decode([tokens[-1]], [prompt.length + len(tokens) - 1])
        stop = tokens[6]
        cut = tokens.index(stop)
        backend.scheduler._decoder._stop = frozenset({stop})
        text = await answer(backend, QUESTIONS[1])
    finally:
        await backend.aclose()
    expected = backend._processor.tokenizer.decode(tokens[:cut]).strip()
    assert text == expected


async def test_the_backend_says_why_an_answer_ended(model_dir: Path) -> None:
    """ "length" when max_new_tokens ended it, "stop" when the model did."""
    backend = make_backend(model_dir)
    await backend.start()
    try:
        heard: list[str] = []
        cut = GenerationRequest(messages=QUESTIONS[1], max_new_tokens=5, on_finish=heard.append)
        [_ async for _ in backend.stream(cut)]
        prompt = await backend.prepare(cut)
        engine = backend.engine
        assert engine is not None
        first = engine.prefill([prompt], [0])[0]
        backend.scheduler._decoder._stop = frozenset({first})  # the model stops at once
        whole = dataclasses.replace(cut, max_new_tokens=24)
        [_ async for _ in backend.stream(whole)]
    finally:
        await backend.aclose()
    assert heard == ["length", "stop"]


async def test_cancelling_frees_the_row_for_the_next(model_dir: Path) -> None:
    backend = make_backend(model_dir, max_batch=1, slot_tokens=4096)
    await backend.start()
    try:
        request = GenerationRequest(messages=QUESTIONS[0], max_new_tokens=3000)
        stream = backend.stream(request)
        await anext(stream)
        await stream.aclose()  # the consumer went away (a deleted question)
        quick = await asyncio.wait_for(answer(backend, QUESTIONS[2], new_tokens=8), timeout=30)
        lane = backend.scheduler._main
    finally:
        await backend.aclose()
    assert quick
    assert lane.active == []


async def test_the_callers_deadline_frees_the_row(model_dir: Path) -> None:
    # The pipeline's generation deadline cancels the stream; its row must come free.
    backend = make_backend(model_dir, max_batch=1, slot_tokens=4096)
    await backend.start()
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await answer(backend, QUESTIONS[0], new_tokens=3500)
        await wait_until(lambda: not backend.scheduler._main.active)
    finally:
        await backend.aclose()


async def test_the_waiting_queue_is_bounded(model_dir: Path) -> None:
    # One row, one waiting place. The first answer runs (end of turn ignored, so it
    # cannot finish early), the second waits; only then is a third refused. Waiting for
    # the reported places, not for a count that a step may change under us, keeps the
    # order certain on a loaded machine.
    backend = make_backend(model_dir, max_batch=1, max_waiting=1, slot_tokens=4096, ignore_eos=True)
    await backend.start()
    running: list[int] = []
    waiting: list[int] = []
    try:
        first = asyncio.create_task(answer(backend, QUESTIONS[0], 3000, places=running))
        await wait_until(lambda: 0 in running)
        second = asyncio.create_task(answer(backend, QUESTIONS[1], 3000, places=waiting))
        await wait_until(lambda: 1 in waiting)
        with pytest.raises(Busy):
            await answer(backend, QUESTIONS[3])
        assert not first.done() and not second.done()
        for task in (first, second):
            task.cancel()
        await asyncio.gather(first, second, return_exceptions=True)
    finally:
        await backend.aclose()


async def test_prefill_out_of_memory_splits_the_batch(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Engine.prefill
    sizes: list[int] = []

    def tight(self: Engine, prompts: Any, rows: Any) -> list[int]:
        sizes.append(len(prompts))
        if len(prompts) > 1:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real(self, prompts, rows)

    monkeypatch.setattr(Engine, "prefill", tight)
    backend = make_backend(model_dir, max_batch=4)
    await backend.start()
    try:
        texts = await asyncio.gather(*(answer(backend, q) for q in QUESTIONS[:4]))
    finally:
        await backend.aclose()
    assert all(texts)
    assert max(sizes) > 1 and sizes.count(1) >= 4  # tried together, then one by one


async def test_decode_out_of_memory_fails_the_newest_and_keeps_serving(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Engine.launch
    failed = False

    def tight(self: Engine, active: int) -> Any:
        nonlocal failed
        if active == 4 and not failed:
            failed = True
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real(self, active)

    monkeypatch.setattr(Engine, "launch", tight)
    backend = make_backend(model_dir, max_batch=4)
    await backend.start()
    try:
        results = await asyncio.gather(
            *(answer(backend, q) for q in QUESTIONS[:4]), return_exceptions=True
        )
        after = await answer(backend, QUESTIONS[5])
    finally:
        await backend.aclose()
    assert sum(isinstance(r, BackendOutOfMemory) for r in results) == 2
    assert sum(isinstance(r, str) and bool(r) for r in results) == 2
    assert after


async def test_a_request_longer_than_a_row_uses_the_long_lane(model_dir: Path) -> None:
    backend = make_backend(model_dir, slot_tokens=256)
    await backend.start()
    try:
        long_question = question("Describe everything. " * 20, images=2)
        prompt = await backend.prepare(GenerationRequest(messages=long_question, max_new_tokens=24))
        assert prompt.length + 24 > 256
        both = await asyncio.gather(answer(backend, long_question), answer(backend, QUESTIONS[0]))
    finally:
        await backend.aclose()
    short = make_backend(model_dir, slot_tokens=4096)
    await short.start()
    try:
        alone = await answer(short, long_question)
    finally:
        await short.aclose()
    assert both[0] == alone and both[1]


async def test_a_prompt_above_the_prefill_budget_still_starts(model_dir: Path) -> None:
    backend = make_backend(model_dir)
    await backend.start()
    try:
        backend.scheduler._prefill_tokens = 8  # every prompt is longer than this
        texts = await asyncio.wait_for(
            asyncio.gather(*(answer(backend, q, new_tokens=4) for q in QUESTIONS[:3])), timeout=30
        )
    finally:
        await backend.aclose()
    assert all(texts)
