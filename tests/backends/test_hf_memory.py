"""The memory estimate: the slot cache as allocated, and the shipped defaults in 16 GiB."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from bot.backends.hf import memory, synthetic
from bot.backends.hf.batching.kv_slots import SlotKVCache
from bot.settings import Settings


@pytest.mark.parametrize(("rows", "slot_tokens"), [(1, 16), (3, 40), (4, 256)])
def test_the_cache_estimate_is_what_the_cache_allocates(rows: int, slot_tokens: int) -> None:
    text = synthetic.tiny_config(sliding_window=24).get_text_config()
    cache = SlotKVCache(
        layer_types=text.layer_types,
        layer_devices=[torch.device("cpu")] * len(text.layer_types),
        rows=rows,
        slot_tokens=slot_tokens,
        window=text.sliding_window,
        kv_heads=text.num_key_value_heads,
        head_dim=text.head_dim,
        dtype=torch.bfloat16,
    )
    estimate = memory.kv_cache_bytes(text, rows=rows, slot_tokens=slot_tokens, dtype_bytes=2)
    assert estimate == cache.nbytes


def medgemma_estimate(settings: Settings) -> memory.MemoryEstimate:
    from transformers import Gemma3ForConditionalGeneration

    config = synthetic.medgemma_4b_config()
    with torch.device("meta"):  # the exact shape, no memory
        model = Gemma3ForConditionalGeneration(config)
    return memory.estimate(
        config.get_text_config(),
        weights=memory.weight_bytes(model) // 2,  # built in fp32, served in bf16
        rows=settings.max_batch,
        slot_tokens=settings.slot_tokens,
        prefill_tokens=settings.prefill_tokens,
        dtype_bytes=2,
    )


def test_the_shipped_defaults_fit_16_gib() -> None:
    defaults = Settings()
    estimate = medgemma_estimate(defaults)
    assert 7.9 < estimate.weights / memory.GIB < 8.1  # 4.3 B parameters in bf16
    assert estimate.kv_cache / memory.GIB == pytest.approx(6.125)  # 5 full + 29 ring layers
    assert estimate.total < 16 * memory.GIB
    # The earlier budget of 16k prefill tokens did not.
    before = medgemma_estimate(dataclasses.replace(defaults, prefill_tokens=16_384))
    assert before.total > 16 * memory.GIB
