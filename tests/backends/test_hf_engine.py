"""The slot cache and batched decoding give exactly transformers' greedy answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from bot.backends.hf.batching.engine import Engine, batch_buckets
from bot.backends.hf.synthetic import save_tiny_model
from tests.backends.hf_helpers import WINDOW, load_tiny, prompts, reference

NEW = 48


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    path = save_tiny_model(tmp_path_factory.mktemp("tiny-w64"), sliding_window=WINDOW)
    return load_tiny(path)


@pytest.fixture(scope="module")
def expected(tiny: tuple[Any, Any]) -> list[list[int]]:
    processor, model = tiny
    answers = [reference(model, p, NEW) for p in prompts(processor)]
    assert all(len(set(a)) > 3 for a in answers), "the tiny model should not just repeat"
    return answers


def run_staggered(engine: Engine, batch: list[Any], stops: list[int]) -> list[list[int]]:
    """Two requests start, two join after 5 steps; each stops after its own count."""
    out: dict[int, list[int]] = {}
    active: list[int] = []  # request index per row

    def admit(indices: list[int]) -> None:
        firsts = engine.prefill(
            [batch[i] for i in indices], list(range(len(active), len(active) + len(indices)))
        )
        for i, first in zip(indices, firsts, strict=True):
            active.append(i)
            out[i] = [first]

    admit([0, 1])
    step = 0
    while active:
        if step == 5:
            admit([2, 3])
        step += 1
        tokens = [out[i][-1] for i in active]
        positions = [batch[i].length + len(out[i]) - 1 for i in active]
        for i, token in zip(list(active), engine.decode(tokens, positions), strict=True):
            out[i].append(token)
        for i in [i for i in active if len(out[i]) >= stops[i]]:
            row, last = active.index(i), len(active) - 1
            if row != last:  # keep rows compact, as the scheduler does
                engine.cache.move_row(source=last, dest=row)
                active[row] = active[last]
            active.pop()
    return [out[i] for i in range(len(batch))]


def test_batched_joining_and_leaving_equals_generate(
    tiny: tuple[Any, Any], expected: list[list[int]]
) -> None:
    processor, model = tiny
    batch = prompts(processor)
    assert all(p.length < WINDOW for p in batch)  # so decoding crosses the window
    assert all(p.length + NEW > WINDOW for p in batch)
    engine = Engine(model=model, rows=4, slot_tokens=256, pad_id=0)
    stops = [12, NEW, NEW, 25]  # the first leaves early: rows move
    got = run_staggered(engine, batch, stops)
    for i, answer in enumerate(got):
        assert answer == expected[i][: stops[i]], f"request {i}"


def test_prompts_longer_than_the_window(tmp_path: Path) -> None:
    path = save_tiny_model(tmp_path, sliding_window=16)
    processor, model = load_tiny(path)
    batch = prompts(processor)
    assert all(p.length > 16 for p in batch)
    engine = Engine(model=model, rows=4, slot_tokens=256, pad_id=0)
    got = run_staggered(engine, batch, [20] * 4)
    assert got == [reference(model, p, 20) for p in batch]


def test_slots_shorter_than_the_window(tiny: tuple[Any, Any], expected: list[list[int]]) -> None:
    processor, model = tiny
    batch = prompts(processor)[:2]
    slot = WINDOW - 4  # the sliding layers' ring is the whole slot
    engine = Engine(model=model, rows=2, slot_tokens=slot, pad_id=0)
    firsts = engine.prefill(batch, [0, 1])
    out = [[f] for f in firsts]
    while len(out[0]) < slot - max(p.length for p in batch):
        nxt = engine.decode(
            [o[-1] for o in out], [p.length + len(o) - 1 for p, o in zip(batch, out, strict=True)]
        )
        for o, t in zip(out, nxt, strict=True):
            o.append(t)
    for o, e in zip(out, expected[:2], strict=True):
        assert o == e[: len(o)]


@pytest.mark.parametrize(
    ("rows", "buckets"), [(1, [1]), (2, [1, 2]), (5, [1, 2, 4, 5]), (32, [1, 2, 4, 8, 16, 32])]
)
def test_batch_buckets(rows: int, buckets: list[int]) -> None:
    assert batch_buckets(rows) == buckets


def test_compiled_steps_equal_generate_and_refuse_to_recompile(
    tiny: tuple[Any, Any], expected: list[list[int]]
) -> None:
    processor, model = tiny
    batch = prompts(processor)
    engine = Engine(model=model, rows=4, slot_tokens=256, pad_id=0)
    messages: list[str] = []
    assert engine.compile(progress=messages.append)
    assert engine.compiled and engine.buckets == [2, 4]  # a lone request decodes as 2 rows
    assert messages == [
        "compiling the decoding step for batch 2 (1/2)",
        "compiling the decoding step for batch 4 (2/2)",
    ]
    stats = engine.runner.stats
    assert stats.graphs == 1 and stats.graph_breaks == 0  # one graph serves both buckets
    stops = [12, NEW, NEW, 25]
    got = run_staggered(engine, batch, stops)
    for i, answer in enumerate(got):
        assert answer == expected[i][: stops[i]], f"request {i}"
    assert stats.fallbacks == 0
    # A batch of one would need a new graph (Dynamo specializes size 1): refused while
    # serving, that step runs eagerly, and says so.
    with torch.inference_mode():
        eager = engine._forward(engine.tokens[:1, None], engine.positions[:1])
        served = engine.runner(engine.tokens[:1, None], engine.positions[:1])
    assert stats.fallbacks == 1 and torch.equal(served[0], eager[0])


def test_compile_failure_falls_back_to_eager(
    tiny: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    processor, model = tiny

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", lambda fn, **kw: broken)
    engine = Engine(model=model, rows=2, slot_tokens=128, pad_id=0)
    assert engine.compile(progress=lambda _: None) is False
    assert not engine.compiled
    prompt = prompts(processor)[2]
    first = engine.prefill([prompt], [0])
    assert len(engine.decode(first, [prompt.length])) == 1  # the eager step still serves


@pytest.mark.parametrize("position", [0, 1, 6, 7, 8, 13, 19])
def test_masks_show_exactly_the_last_window_positions(position: int) -> None:
    from bot.backends.hf.batching.kv_slots import SlotKVCache

    window, slot = 8, 20
    cache = SlotKVCache(
        layer_types=["sliding_attention", "full_attention"],
        layer_devices=[torch.device("cpu")] * 2,
        rows=2,
        slot_tokens=slot,
        window=window,
        kv_heads=1,
        head_dim=2,
        dtype=torch.float32,
    )
    masks = cache.prepare_step(torch.tensor([position, 3]))
    ring = {j for j in range(window) if masks["sliding_attention"][0, 0, 0, j]}
    full = {j for j in range(slot) if masks["full_attention"][0, 0, 0, j]}
    # A sliding layer sees the last `window` positions (itself included), stored at p % window.
    assert ring == {p % window for p in range(max(0, position - window + 1), position + 1)}
    assert full == set(range(position + 1))
