"""A static key/value cache with one row ("slot") per running request.

Unlike transformers' own caches, every row has its own position, so requests of any
length can join a running batch between two decoding steps and leave it as soon as they
stop. Full-attention layers keep `slot_tokens` positions per row; sliding-window layers
keep a ring of `window` positions (a token at position p lives at p % window), which is
all those layers can see. Shapes never change, so the decoding step can be captured in
a CUDA graph; rows are kept compact (active rows first) so a step runs on the smallest
batch bucket that holds them.

The cache is a `transformers.Cache` made of its own layers (`CacheLayerMixin`, the
public way to write a cache): the model calls `Cache.update(keys, values, layer_idx,
...)`, whose trailing arguments differ between transformers 5.17 and 5.25, and
`Cache.update` hands each layer only the keys and values and whatever else it was given,
which `SlotLayer.update` ignores. Masks are precomputed per layer type (the model builds
none when given a dict).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import Cache
from transformers.cache_utils import CacheLayerMixin

FULL = "full_attention"
SLIDING = "sliding_attention"


class StepIndex:
    """Where the current decoding step writes: one position per row, per layer type."""

    def __init__(self) -> None:
        self.rows: torch.Tensor | None = None
        self.write: dict[str, torch.Tensor] = {}


class SlotLayer(CacheLayerMixin):
    """One layer's buffers, [rows, kv_heads, length, head_dim], allocated up front."""

    is_compileable = True

    def __init__(
        self, *, kind: str, shape: tuple[int, ...], dtype: torch.dtype, device: Any, step: StepIndex
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.kind = kind
        self.is_sliding = kind == SLIDING
        self.step = step
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.is_initialized = True
        for tensor in (self.keys, self.values):
            # Lets torch.compile treat the buffers as fixed addresses (CUDA graphs).
            torch._dynamo.mark_static_address(tensor)

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        """Nothing to do: the buffers exist from the start."""

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write one token per row of the step; return those rows' whole buffers."""
        assert self.keys is not None and self.values is not None
        assert self.step.rows is not None, "prepare_step() must run before a forward"
        batch = key_states.shape[0]
        keys, values = self.keys[:batch], self.values[:batch]
        index = self.step.write[self.kind].to(keys.device)
        rows = self.step.rows.to(keys.device)
        keys[rows, :, index] = key_states[:, :, 0].to(keys.dtype)
        values[rows, :, index] = value_states[:, :, 0].to(values.dtype)
        return keys, values

    def get_mask_sizes(self, query_length: int, *args: Any, **kwargs: Any) -> tuple[int, int]:
        """The whole buffer (masks come precomputed; see `prepare_step`)."""
        return self.get_max_length(), 0

    def get_seq_length(self, *args: Any, **kwargs: Any) -> int:
        """Not meaningful per row; models only ask when given no positions."""
        return 0

    def get_max_length(self, *args: Any, **kwargs: Any) -> int:
        """Positions a row holds in this layer."""
        assert self.keys is not None
        return int(self.keys.shape[2])


class SlotKVCache(Cache):
    """Per-row key/value buffers for Gemma-3-style models (full + sliding layers)."""

    def __init__(
        self,
        *,
        layer_types: Sequence[str],
        layer_devices: Sequence[torch.device],
        rows: int,
        slot_tokens: int,
        window: int,
        kv_heads: int,
        head_dim: int,
        dtype: torch.dtype,
    ) -> None:
        self.layer_types = list(layer_types)
        self.rows = rows
        self.slot_tokens = slot_tokens
        self.window = min(window, slot_tokens)
        self.step = StepIndex()
        layers: list[Any] = []
        for kind, device in zip(self.layer_types, layer_devices, strict=True):
            length = slot_tokens if kind == FULL else self.window
            shape = (rows, kv_heads, length, head_dim)
            layers.append(
                SlotLayer(kind=kind, shape=shape, dtype=dtype, device=device, step=self.step)
            )
        super().__init__(layers=layers)
        self.keys: list[torch.Tensor] = [layer.keys for layer in layers]
        self.values: list[torch.Tensor] = [layer.values for layer in layers]

    @property
    def nbytes(self) -> int:
        """Memory held by the buffers."""
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values))

    # -- decoding ---------------------------------------------------------------------

    def prepare_step(self, positions: torch.Tensor) -> dict[str, torch.Tensor]:
        """Set write indices for one decoding step; return the attention masks.

        `positions` holds, per row of the step's batch, the position of the token being
        decoded (= tokens already cached for that row).
        """
        device = positions.device
        self.step.rows = torch.arange(positions.shape[0], device=device)
        self.step.write = {FULL: positions, SLIDING: positions % self.window}
        full_cols = torch.arange(self.slot_tokens, device=device)
        ring_cols = torch.arange(self.window, device=device)
        pos = positions[:, None]
        full_mask = full_cols[None, :] <= pos
        # A ring slot holds a valid token once written; after the ring has filled up,
        # every slot holds one of the last `window` tokens, all visible.
        ring_mask = (ring_cols[None, :] <= pos) | (pos >= self.window - 1)
        return {FULL: full_mask[:, None, None, :], SLIDING: ring_mask[:, None, None, :]}

    # -- admission and compaction -------------------------------------------------------

    def load_prefill(
        self,
        *,
        row: int,
        layers: Sequence[tuple[torch.Tensor, torch.Tensor]],
        source_row: int,
        length: int,
    ) -> None:
        """Copy one request's prompt from a prefill cache into `row`.

        `layers` are the prefill cache's (keys, values) per layer, left-padded along the
        sequence; the request's `length` tokens are the last ones of each tensor, of
        which a sliding layer may keep only the most recent.
        """
        for i, (keys, values) in enumerate(layers):
            kept = min(length, keys.shape[2])
            src_k = keys[source_row, :, keys.shape[2] - kept :]
            src_v = values[source_row, :, values.shape[2] - kept :]
            first = length - kept
            if self.layer_types[i] == FULL:
                dest = torch.arange(first, length, device=self.keys[i].device)
            else:
                # Only the last `window` positions matter to a sliding layer.
                take = min(kept, self.window)
                src_k, src_v = src_k[:, kept - take :], src_v[:, kept - take :]
                dest = torch.arange(length - take, length, device=self.keys[i].device)
                dest = dest % self.window
            self.keys[i][row].index_copy_(1, dest, src_k.to(self.keys[i]))
            self.values[i][row].index_copy_(1, dest, src_v.to(self.values[i]))

    def move_row(self, *, source: int, dest: int) -> None:
        """Copy a whole row (used to keep active rows compact)."""
        for tensor in (*self.keys, *self.values):
            tensor[dest].copy_(tensor[source])
