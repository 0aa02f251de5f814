"""How much device memory the in-process engine needs, estimated before it runs.

Four parts: the weights; the slot cache (full-attention layers keep `slot_tokens`
positions per row, sliding layers a ring of the window); the largest prefill (its
transient cache of every layer plus one layer's activations per token, bounded by the
prefill budget); and a decoding step's scratch (logits and attention scores per row).
The allocator's own slack and the CUDA context come on top: `bench` reports this
estimate beside the measured peak so the two can be compared on a GPU. A single prompt
longer than the prefill budget (a CT series) is prefilled alone and costs more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GIB = 2**30


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per part; `total` is their sum."""

    weights: int
    kv_cache: int
    prefill: int
    decode: int

    @property
    def total(self) -> int:
        """All parts together."""
        return self.weights + self.kv_cache + self.prefill + self.decode

    def gib(self) -> dict[str, float]:
        """Each part and the total in GiB, rounded for reports."""
        parts = {
            "weights": self.weights,
            "kv_cache": self.kv_cache,
            "prefill": self.prefill,
            "decode": self.decode,
            "total": self.total,
        }
        return {name: round(value / GIB, 2) for name, value in parts.items()}


def weight_bytes(model: Any) -> int:
    """Parameters and buffers of the model (tied weights once)."""
    tensors = {id(t): t for t in (*model.parameters(), *model.buffers())}
    return sum(t.numel() * t.element_size() for t in tensors.values())


def kv_cache_bytes(text: Any, *, rows: int, slot_tokens: int, dtype_bytes: int) -> int:
    """The slot cache's buffers, as `SlotKVCache` allocates them."""
    window = min(text.sliding_window or slot_tokens, slot_tokens)
    per_position = 2 * text.num_key_value_heads * text.head_dim * dtype_bytes  # keys + values
    positions = sum(
        slot_tokens if kind == "full_attention" else window for kind in text.layer_types
    )
    return int(rows * positions * per_position)


def prefill_bytes_per_token(text: Any, *, dtype_bytes: int) -> int:
    """A prompt token during prefill: its cache in every layer plus one layer's work."""
    cache = text.num_hidden_layers * 2 * text.num_key_value_heads * text.head_dim
    # MLP gate and up projections, the residual stream and norms, the query and the
    # keys and values repeated per query head by the SDPA path.
    work = 2 * text.intermediate_size + 4 * text.hidden_size
    work += 3 * text.num_attention_heads * text.head_dim
    return int((cache + work) * dtype_bytes)


def estimate(
    text: Any,
    *,
    weights: int,
    rows: int,
    slot_tokens: int,
    prefill_tokens: int,
    dtype_bytes: int,
) -> MemoryEstimate:
    """The engine's memory for a text config, a batch shape and a prefill budget."""
    logits = rows * text.vocab_size * dtype_bytes * 2  # logits and their softcapped copy
    scores = rows * text.num_attention_heads * slot_tokens * 4 * 2  # fp32 scores, probs
    return MemoryEstimate(
        weights=weights,
        kv_cache=kv_cache_bytes(text, rows=rows, slot_tokens=slot_tokens, dtype_bytes=dtype_bytes),
        prefill=prefill_tokens * prefill_bytes_per_token(text, dtype_bytes=dtype_bytes),
        decode=logits + scores,
    )
