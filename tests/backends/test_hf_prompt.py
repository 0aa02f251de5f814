"""Preparing prompts: several workers, each with a processor of its own."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from bot.backends.hf import prompt as prompt_module
from bot.backends.hf.prompt import PreparationPool
from bot.backends.hf.synthetic import save_tiny_model
from tests.backends.hf_helpers import load_tiny, question


async def test_workers_prepare_at_once_each_with_its_own_processor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor, _ = load_tiny(save_tiny_model(tmp_path))
    questions = [question(f"Question {i}?", images=i % 2, shade=10 * i) for i in range(9)]
    used: dict[str, set[int]] = {}
    busy = 0
    most_busy = 0
    lock = threading.Lock()
    real = prompt_module.prepare

    def recording(processor: Any, messages: Any) -> Any:
        nonlocal busy, most_busy
        with lock:
            used.setdefault(threading.current_thread().name, set()).add(id(processor))
            busy += 1
            most_busy = max(most_busy, busy)
        time.sleep(0.05)  # long enough for the others to start meanwhile
        try:
            return real(processor, messages)
        finally:
            with lock:
                busy -= 1

    monkeypatch.setattr(prompt_module, "prepare", recording)
    pool = PreparationPool(processor, workers=3)
    try:
        prepared = await asyncio.gather(*(pool.prepare(q) for q in questions))
    finally:
        pool.shutdown()
    assert most_busy == 3
    processors = [ids for ids in used.values()]
    assert len(processors) == 3 and all(len(ids) == 1 for ids in processors)
    distinct = set().union(*processors)
    assert len(distinct) == 3 and id(processor) not in distinct  # copies, one per thread
    for got, messages in zip(prepared, questions, strict=True):
        assert torch.equal(got.input_ids, real(processor, messages).input_ids)
