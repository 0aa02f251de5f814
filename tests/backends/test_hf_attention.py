"""The decode-time attention: transformers' eager maths, read from the cache in place."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from bot.backends.hf.batching import attention
from bot.backends.hf.batching.attention import decode_attention
from bot.backends.hf.batching.engine import Engine
from bot.backends.hf.synthetic import save_tiny_model
from tests.backends.hf_helpers import WINDOW, load_tiny, prompts


def eager_reference(q: Any, k: Any, v: Any, mask: Any, scaling: float, softcap: Any) -> Any:
    """transformers' own eager attention (repeat_kv, additive mask, fp32 softmax)."""
    from transformers.models.gemma3.modeling_gemma3 import eager_attention_forward

    module = SimpleNamespace(num_key_value_groups=q.shape[1] // k.shape[1], training=False)
    if mask is not None and mask.dtype == torch.bool:
        mask = torch.zeros(mask.shape, dtype=q.dtype).masked_fill(~mask, torch.finfo(q.dtype).min)
    out, _ = eager_attention_forward(module, q, k, v, mask, scaling=scaling, softcap=softcap)
    return out


@pytest.mark.parametrize(
    ("heads", "kv_heads", "softcap", "mask_kind"),
    [
        (4, 2, None, "bool"),
        (8, 2, None, "bool"),
        (4, 4, None, "bool"),
        (4, 1, 50.0, "bool"),
        (4, 2, None, "float"),
        (4, 2, None, None),
    ],
)
def test_equals_transformers_eager_attention(
    heads: int, kv_heads: int, softcap: float | None, mask_kind: str | None
) -> None:
    torch.manual_seed(heads * 10 + kv_heads)
    batch, slots, dim = 3, 40, 16
    q = torch.randn(batch, heads, 1, dim)
    k = torch.randn(batch, kv_heads, slots, dim)
    v = torch.randn(batch, kv_heads, slots, dim)
    visible = torch.arange(slots)[None, :] <= torch.tensor([5, 17, 39])[:, None]
    mask: torch.Tensor | None = visible[:, None, None, :]
    if mask_kind == "float":
        mask = torch.zeros(visible.shape).masked_fill(~visible, -1e9)[:, None, None, :]
    elif mask_kind is None:
        mask = None
    got = decode_attention(q, k, v, mask, scaling=dim**-0.5, softcap=softcap)
    want = eager_reference(q, k, v, mask, dim**-0.5, softcap)
    assert got.shape == (batch, 1, heads, dim)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_decoding_steps_use_it_and_never_repeat_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor, model = load_tiny(save_tiny_model(tmp_path, sliding_window=WINDOW))
    engine = Engine(model=model, rows=2, slot_tokens=128, pad_id=0)
    calls: list[int] = []
    real = attention.decode_attention

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1].shape[2])  # the cache length it read
        return real(*args, **kwargs)

    monkeypatch.setattr(attention, "decode_attention", counted)
    engine.prefill(prompts(processor)[:2], [0, 1])
    assert calls == []  # prefill keeps transformers' own attention

    def no_repeat(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("repeat_kv copied the cache")

    from transformers.integrations import sdpa_attention
    from transformers.models.gemma3 import modeling_gemma3

    monkeypatch.setattr(sdpa_attention, "repeat_kv", no_repeat)
    monkeypatch.setattr(modeling_gemma3, "repeat_kv", no_repeat)
    engine.launch(2).result()
    layers = model.config.get_text_config().layer_types
    assert len(calls) == len(layers)
    # Each layer read its own buffer whole: the ring for sliding layers, the slot for full.
    assert calls == [WINDOW if kind == "sliding_attention" else 128 for kind in layers]
