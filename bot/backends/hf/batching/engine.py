"""Batched prefill and decoding steps on a Gemma 3 model (runs in the generation thread).

Prefill goes through transformers' own forward and cache (it knows the bidirectional
attention over image tokens); the prompt's keys and values are then copied into a row of
the `SlotKVCache`, where decoding runs one token per active row per step, with an
attention that reads the cache in place (`attention.py`), optionally compiled with CUDA
graphs (`compiled.py`).

Each row's next input token and its position stay on the device: a step feeds them,
writes the step's output back as the next input and starts copying the output to the
host, so the host can queue the next step before it looks at this one's tokens.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch

from bot.backends.hf.batching import attention
from bot.backends.hf.batching.compiled import StepRunner
from bot.backends.hf.batching.kv_slots import SlotKVCache
from bot.backends.hf.batching.readback import PendingTokens, Readback
from bot.backends.hf.prompt import PreparedPrompt


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

    def __init__(
        self, *, model: Any, rows: int, slot_tokens: int, pad_id: int, attn_impl: str = "sdpa"
    ) -> None:
        """`attn_impl`: the attention the model was loaded with (it keeps prefill)."""
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
        attention.install(model, loaded_with=attn_impl)
        # The forward's cache keyword: `cache` in transformers 5.2x, `past_key_values` in
        # 5.17 (deprecated since, removed in 5.40): whichever the signature declares.
        params = inspect.signature(model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        # Per row: the token to feed next and its position (= tokens already cached).
        self.tokens = torch.full((rows,), pad_id, dtype=torch.long, device=self.device)
        self.positions = torch.zeros(rows, dtype=torch.long, device=self.device)
        self._readback = Readback(rows=rows, device=self.device)
        self.buckets = batch_buckets(rows)
        self.runner = StepRunner(self._forward)

    @property
    def compiled(self) -> bool:
        """Whether decoding steps run compiled."""
        return self.runner.compiled

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
        first = out.logits[:, -1].argmax(-1)
        index = torch.tensor(list(rows), device=self.device)
        self.tokens[index] = first
        self.positions[index] = torch.tensor([p.length for p in prompts], device=self.device)
        result: list[int] = first.tolist()  # waits: a prefill is long, and rare
        return result

    # -- decoding -----------------------------------------------------------------------

    def _forward(
        self, ids: torch.Tensor, positions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The step that gets compiled: next tokens and last-position logits."""
        masks = self.cache.prepare_step(positions)
        out = self.model(
            input_ids=ids,
            attention_mask=masks,
            position_ids=positions[:, None],
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kwarg: self.cache, attention.DECODE_FLAG: True},
        )
        logits: torch.Tensor = out.logits[:, -1]
        return logits.argmax(-1), logits

    def bucket_for(self, active: int) -> int:
        """The smallest batch bucket that holds `active` rows."""
        return next(b for b in self.buckets if b >= active)

    @torch.inference_mode()
    def launch(self, active: int) -> PendingTokens:
        """Queue one step for rows 0..active-1 from their device state; tokens follow."""
        bucket = self.bucket_for(active)
        next_tokens, _ = self.runner(self.tokens[:bucket, None], self.positions[:bucket])
        # Rows past `active` decode padding into free rows; the next prefill overwrites them.
        self.tokens[:bucket].copy_(next_tokens)
        # Clamped: the scheduler learns of a finished row one step late and may feed it once
        # more; that step must not index past the row.
        self.positions[:active].add_(1).clamp_(max=self.slot_tokens - 1)
        return self._readback.start(next_tokens[:active])

    @torch.inference_mode()
    def decode(self, tokens: Sequence[int], positions: Sequence[int]) -> list[int]:
        """One step fed explicit tokens at explicit positions (tests and checks)."""
        active = len(tokens)
        self.tokens[:active] = torch.tensor(list(tokens), device=self.device)
        self.positions[:active] = torch.tensor(list(positions), device=self.device)
        return self.launch(active).result()

    @torch.inference_mode()
    def step_logits(self, active: int) -> torch.Tensor:
        """Logits of one step for rows 0..active-1 through the serving path (checks).

        Inputs and positions are left as they were; the cache gets the keys and values
        the next step would write at the same places anyway.
        """
        bucket = self.bucket_for(active)
        _, logits = self.runner(self.tokens[:bucket, None], self.positions[:bucket])
        return logits[:active].float().clone()

    @torch.inference_mode()
    def move_row(self, *, source: int, dest: int) -> None:
        """Copy a whole row, cache and device state (used to keep active rows compact)."""
        self.cache.move_row(source=source, dest=dest)
        self.tokens[dest] = self.tokens[source]
        self.positions[dest] = self.positions[source]

    # -- compilation --------------------------------------------------------------------

    @torch.inference_mode()  # as serving runs: grad mode is part of Dynamo's guards
    def compile(self, *, progress: Callable[[str], None]) -> bool:
        """Compile the decoding step and record its graphs; call it in the decoding thread."""
        if self.rows > 1:
            self.buckets = batch_buckets(self.rows)[1:]  # one shared graph (compiled.py)
        ok = self.runner.compile(
            buckets=self.buckets,
            inputs=lambda bucket: (self.tokens[:bucket, None], self.positions[:bucket]),
            progress=progress,
        )
        if not ok:
            self.buckets = batch_buckets(self.rows)
        return ok
