"""A static key/value cache with one row ("slot") per running request.

Unlike transformers' own caches, every row has its own position, so requests of any
length can join a running batch between two decoding steps and leave it as soon as they
stop. Full-attention layers keep `slot_tokens` positions per row; sliding-window layers
keep a ring of `window` positions (a token at position p lives at p % window), which is
all those layers can see. Shapes never change, so the decoding step can be captured in
a CUDA graph; rows are kept compact (active rows first) so a step runs on the smallest
batch bucket that holds them.

The cache plugs into Gemma 3 through the two things its layers use: `update()` and a
precomputed mask per layer type (the model builds no masks when given a dict).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

FULL = "full_attention"
SLIDING = "sliding_attention"


class SlotKVCache:
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
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        for kind, device in zip(self.layer_types, layer_devices, strict=True):
            length = slot_tokens if kind == FULL else self.window
            shape = (rows, kv_heads, length, head_dim)
            self.keys.append(torch.zeros(shape, dtype=dtype, device=device))
            self.values.append(torch.zeros(shape, dtype=dtype, device=device))
        for tensor in (*self.keys, *self.values):
            # Lets torch.compile treat the buffers as fixed addresses (CUDA graphs).
            torch._dynamo.mark_static_address(tensor)
        # Set by `prepare_step` before each forward: the write index per row and layer type.
        self._write: dict[str, torch.Tensor] = {}
        self._row_index: torch.Tensor | None = None

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
        batch = positions.shape[0]
        device = positions.device
        self._row_index = torch.arange(batch, device=device)
        self._write = {FULL: positions, SLIDING: positions % self.window}
        full_cols = torch.arange(self.slot_tokens, device=device)
        ring_cols = torch.arange(self.window, device=device)
        pos = positions[:, None]
        full_mask = full_cols[None, :] <= pos
        # A ring slot holds a valid token once written; after the ring has filled up,
        # every slot holds one of the last `window` tokens, all visible.
        ring_mask = (ring_cols[None, :] <= pos) | (pos >= self.window - 1)
        return {FULL: full_mask[:, None, None, :], SLIDING: ring_mask[:, None, None, :]}

    def update(
        self,
        key_states: torch.Tensor,
        value_states: torch.Tensor,
        layer_idx: int,
        *_: Any,
        **__: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write one token per row and return the row buffers (the model's cache hook)."""
        batch = key_states.shape[0]
        keys = self.keys[layer_idx][:batch]
        values = self.values[layer_idx][:batch]
        assert self._row_index is not None, "prepare_step() must run before a forward"
        index = self._write[self.layer_types[layer_idx]].to(keys.device)
        rows = self._row_index.to(keys.device)
        keys[rows, :, index] = key_states[:, :, 0].to(keys.dtype)
        values[rows, :, index] = value_states[:, :, 0].to(values.dtype)
        return keys, values

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """Not meaningful per row; models only ask when given no positions."""
        return 0

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
