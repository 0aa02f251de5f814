"""MEDGEMMA_ENGINE=generate: transformers' generate() with a static cache, bucketed shapes,
the same answers as the engine's, rows that stop when their reader goes away."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from bot.backends.base import GenerationRequest
from bot.backends.hf import batches
from bot.backends.hf.prompt import PreparedPrompt
from bot.backends.hf.static_generate import batch_bucket, pad_batch, prompt_width
from bot.backends.hf.synthetic import save_tiny_model
from tests.backends.hf_helpers import WINDOW
from tests.backends.test_hf_scheduler import QUESTIONS, answer, make_backend


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-batches"), sliding_window=WINDOW)


@pytest.mark.parametrize(
    ("rows", "limit", "bucket"),
    [(1, 32, 1), (2, 32, 2), (3, 32, 4), (5, 32, 8), (8, 32, 8), (9, 32, 16), (20, 24, 24)],
)
def test_batches_run_at_a_few_sizes(rows: int, limit: int, bucket: int) -> None:
    assert batch_bucket(rows, limit) == bucket


@pytest.mark.parametrize(("length", "width"), [(1, 256), (256, 256), (257, 512), (331, 512)])
def test_prompts_are_padded_to_a_few_widths(length: int, width: int) -> None:
    assert prompt_width(length) == width


def test_a_batch_is_left_padded_and_filled_with_copies() -> None:
    def prompt(n: int) -> PreparedPrompt:
        types = torch.zeros(n, dtype=torch.long)
        pixels = torch.ones(1, 3, 4, 4)
        return PreparedPrompt(torch.arange(1, n + 1), types, pixels)

    batch = pad_batch([prompt(5), prompt(300)], pad_id=0, limit=8, device="cpu", dtype=None)
    assert batch.rows == 2 and batch.real == 2 and batch.width == 512
    ids = batch.inputs["input_ids"]
    assert ids[0, -5:].tolist() == [1, 2, 3, 4, 5] and not ids[0, :-5].any()
    assert batch.inputs["attention_mask"].sum(-1).tolist() == [5, 300]
    three = pad_batch([prompt(5)] * 3, pad_id=0, limit=8, device="cpu", dtype=None)
    assert three.rows == 4 and three.real == 3  # filled up to a power of two
    assert three.inputs["pixel_values"].shape[0] == 4  # one image per row, filler too


async def test_answers_equal_the_engines(model_dir: Path) -> None:
    limits = [24, 10, 24, 17, 24, 5]
    engine = make_backend(model_dir, max_batch=4)
    await engine.start()
    try:
        expected = [await answer(engine, q, n) for q, n in zip(QUESTIONS, limits, strict=True)]
    finally:
        await engine.aclose()
    assert len(set(expected)) == len(expected)
    library = make_backend(model_dir, max_batch=4, engine="generate")
    await library.start()
    try:
        alone = await answer(library, QUESTIONS[0], limits[0])
        together = await asyncio.gather(
            *(answer(library, q, n) for q, n in zip(QUESTIONS, limits, strict=True))
        )
    finally:
        await library.aclose()
    assert alone == expected[0]
    assert list(together) == expected  # six questions in batches of at most four


async def test_a_reader_that_goes_away_stops_its_row(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[int] = []
    real = batches.generate

    def counted(model: Any, batch: Any, **kwargs: Any) -> None:
        on_step = kwargs.pop("on_step")

        def step(tokens: list[int]) -> None:
            steps.append(len(tokens))
            on_step(tokens)

        real(model, batch, on_step=step, **kwargs)

    monkeypatch.setattr(batches, "generate", counted)
    backend = make_backend(model_dir, engine="generate", ignore_eos=True)
    await backend.start()
    try:
        request = GenerationRequest(messages=QUESTIONS[1], max_new_tokens=2000)
        stream = backend.stream(request)
        got = [await anext(stream) for _ in range(3)]
        await stream.aclose()
        after = await answer(backend, QUESTIONS[2], new_tokens=4)
    finally:
        await backend.aclose()
    assert all(got) and after
    # The long answer's batch ended a few steps after its reader left, not after 2000.
    assert len(steps) < 40


async def test_out_of_memory_splits_the_batch(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = make_backend(model_dir, engine="generate")
    await backend.start()
    try:
        alone = [await answer(backend, q, 6) for q in QUESTIONS[:3]]
        sizes: list[int] = []
        real = batches.generate

        def tight(model: Any, batch: Any, **kwargs: Any) -> None:
            sizes.append(batch.real)
            if batch.real > 1:
                raise torch.OutOfMemoryError("CUDA out of memory (a test)")
            real(model, batch, **kwargs)

        monkeypatch.setattr(batches, "generate", tight)
        backend.scheduler.call(lambda: time.sleep(0.5))  # all three queue up meanwhile
        together = await asyncio.gather(*(answer(backend, q, 6) for q in QUESTIONS[:3]))
    finally:
        await backend.aclose()
    assert list(together) == alone  # each served alone in the end, none lost
    assert sizes[0] == 3 and sizes.count(1) == 3


async def test_the_backend_says_why_an_answer_ended(model_dir: Path) -> None:
    """ "length" when max_new_tokens ended it, "stop" when the model did."""
    backend = make_backend(model_dir, engine="generate")
    await backend.start()
    try:
        heard: list[str] = []
        cut = GenerationRequest(messages=QUESTIONS[1], max_new_tokens=5, on_finish=heard.append)
        assert "".join([chunk async for chunk in backend.stream(cut)])
        scheduler = backend.scheduler
        assert isinstance(scheduler, batches.BatchScheduler)
        scheduler._stop = frozenset(range(1000))  # whatever the model says first ends it
        whole = GenerationRequest(messages=QUESTIONS[1], max_new_tokens=24, on_finish=heard.append)
        [_ async for _ in backend.stream(whole)]
    finally:
        await backend.aclose()
    assert heard == ["length", "stop"]
