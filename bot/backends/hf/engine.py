"""Batched prefill and decoding steps on a Gemma 3 model (runs in the generation thread).

Prefill goes through transformers' own forward and cache (it knows the bidirectional
attention over image tokens); the prompt's keys and values are then copied into a row of
the `SlotKVCache`, where decoding runs one token per active row per step, optionally
compiled with CUDA graphs for each batch bucket.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from bot.backends.hf.kv_slots import SlotKVCache
from bot.backends.hf.prompt import PreparedPrompt

log = logging.getLogger(__name__)

StepFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def batch_buckets(rows: int) -> list[int]:
    """Batch sizes a step may run at: powers of two up to `rows`, and `rows`."""
    sizes = [1]
    while sizes[-1] * 2 < rows:
        sizes.append(sizes[-1] * 2)
    if sizes[-1] != rows:
        sizes.append(rows)
    return sizes


class Engine:
    """The model plus its slot cache: prefill requests into rows, decode all rows."""

    def __init__(self, *, model: Any, rows: int, slot_tokens: int, pad_id: int) -> None:
        self.model = model
        text = model.config.get_text_config()
        self.rows = rows
        self.slot_tokens = slot_tokens
        self.pad_id = pad_id
        self.device = model.get_input_embeddings().weight.device
        self.dtype = model.get_input_embeddings().weight.dtype
        layers = model.model.language_model.layers
        self.cache = SlotKVCache(
            layer_types=text.layer_types,
            layer_devices=[layer.self_attn.k_proj.weight.device for layer in layers],
            rows=rows,
            slot_tokens=slot_tokens,
            window=text.sliding_window or slot_tokens,
            kv_heads=text.num_key_value_heads,
            head_dim=text.head_dim,
            dtype=self.dtype,
        )
        params = inspect.signature(model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        self._float_masks = getattr(model.config, "_attn_implementation", "sdpa") == "eager"
        self.buckets = batch_buckets(rows)
        self._steps: dict[int, StepFn] = {}
        self.compiled = False

    # -- prefill ------------------------------------------------------------------------

    @torch.inference_mode()
    def prefill(self, prompts: Sequence[PreparedPrompt], rows: Sequence[int]) -> list[int]:
        """Run the prompts as one left-padded batch, load them into `rows`; first tokens."""
        from transformers import DynamicCache

        width = max(p.length for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        types = torch.zeros((len(prompts), width), dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, width - p.length :] = p.input_ids
            types[i, width - p.length :] = p.token_type_ids
            mask[i, width - p.length :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        pixels = [p.pixel_values for p in prompts if p.pixel_values is not None]
        cache = DynamicCache(config=self.model.config)
        out = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            token_type_ids=types.to(self.device),
            position_ids=positions.to(self.device),
            pixel_values=torch.cat(pixels).to(self.device, self.dtype) if pixels else None,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kwarg: cache},
        )
        layers: list[tuple[torch.Tensor, torch.Tensor]] = [
            (layer.keys, layer.values)  # type: ignore[union-attr,misc]
            for layer in cache.layers
        ]
        for i, (p, row) in enumerate(zip(prompts, rows, strict=True)):
            self.cache.load_prefill(row=row, layers=layers, source_row=i, length=p.length)
        first: list[int] = out.logits[:, -1].argmax(-1).tolist()
        return first

    # -- decoding -----------------------------------------------------------------------

    def _eager_step(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        masks = self.cache.prepare_step(positions)
        if self._float_masks:
            low = torch.finfo(self.dtype).min
            masks = {
                k: torch.zeros(m.shape, dtype=self.dtype, device=m.device).masked_fill(~m, low)
                for k, m in masks.items()
            }
        out = self.model(
            input_ids=ids,
            attention_mask=masks,
            position_ids=positions[:, None],
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kwarg: self.cache},
        )
        next_tokens: torch.Tensor = out.logits[:, -1].argmax(-1)
        return next_tokens

    def bucket_for(self, active: int) -> int:
        """The smallest batch bucket that holds `active` rows."""
        return next(b for b in self.buckets if b >= active)

    @torch.inference_mode()
    def decode(self, tokens: Sequence[int], positions: Sequence[int]) -> list[int]:
        """One step for rows 0..len(tokens)-1: feed `tokens` at `positions`, get the next."""
        active = len(tokens)
        bucket = self.bucket_for(active)
        ids = torch.full((bucket, 1), self.pad_id, dtype=torch.long)
        pos = torch.zeros(bucket, dtype=torch.long)
        ids[:active, 0] = torch.tensor(tokens, dtype=torch.long)
        pos[:active] = torch.tensor(positions, dtype=torch.long)
        step = self._steps.get(bucket, self._eager_step)
        nxt = step(ids.to(self.device), pos.to(self.device))
        result: list[int] = nxt[:active].tolist()
        return result

    # -- compilation --------------------------------------------------------------------

    def compile(self, *, progress: Callable[[str], None]) -> bool:
        """Compile the decoding step for every bucket (CUDA graphs); False if it failed."""
        compiled = torch.compile(self._eager_step, mode="reduce-overhead", fullgraph=False)
        started = time.monotonic()
        try:
            for n, bucket in enumerate(self.buckets, start=1):
                progress(
                    f"compiling the decoding step for batch {bucket} ({n}/{len(self.buckets)})"
                )
                self._steps[bucket] = compiled
                for _ in range(3):  # compile, record the graph, replay it
                    self.decode([self.pad_id] * bucket, [0] * bucket)
        except Exception:
            log.exception(
                "compile_failed", extra={"fields": {"after_s": time.monotonic() - started}}
            )
            self._steps.clear()
            self.compiled = False
            return False
        self.compiled = True
        return True
