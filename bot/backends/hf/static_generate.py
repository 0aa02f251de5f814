"""The library path: one batched `model.generate()` with a static cache and compiled decoding.

This is what the engine must beat (DESIGN point 3): transformers' own `generate()` with
`cache_implementation="static"`, whose decoding steps transformers compiles (CUDA graphs)
by itself on an accelerator, never on the CPU. Compiled steps are only fast while their
shapes repeat, so shapes are bucketed: prompts are left-padded to a multiple of
`PROMPT_BUCKET` tokens and a batch is filled up to a power of two (or the batch limit)
with copies of its first prompt, whose tokens are dropped. Every row decodes until the
batch's longest answer ends (static batching: no request joins a running batch); a row
whose own limit is reached, or whose caller went away, stops counting at once.

Tokens reach the caller step by step through a streamer (`on_step`), as `generate()`
produces them. All calls run in one thread (the generation thread), like the engine's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from bot.backends.hf.prompt import PreparedPrompt

PROMPT_BUCKET = 256  # prompt widths are padded to a multiple of this


def batch_bucket(rows: int, limit: int) -> int:
    """The batch size `rows` runs at: the next power of two, at most `limit`."""
    size = 1
    while size < rows:
        size *= 2
    return max(rows, min(size, limit))


def prompt_width(length: int) -> int:
    """The padded width of a prompt of `length` tokens."""
    return -(-length // PROMPT_BUCKET) * PROMPT_BUCKET


@dataclass(frozen=True)
class StaticBatch:
    """Left-padded, bucketed inputs for `generate()`; rows past `real` are filler."""

    inputs: dict[str, torch.Tensor]
    width: int
    real: int
    pad_id: int

    @property
    def rows(self) -> int:
        """Rows in the batch, filler included."""
        return int(self.inputs["input_ids"].shape[0])


def pad_batch(
    prompts: Sequence[PreparedPrompt], *, pad_id: int, limit: int, device: Any, dtype: Any
) -> StaticBatch:
    """The prompts as one bucketed batch on `device` (pixels in `dtype`)."""
    rows = batch_bucket(len(prompts), limit)
    filled = [*prompts, *[prompts[0]] * (rows - len(prompts))]
    width = prompt_width(max(p.length for p in filled))
    ids = torch.full((rows, width), pad_id, dtype=torch.long)
    types = torch.zeros((rows, width), dtype=torch.long)
    mask = torch.zeros((rows, width), dtype=torch.long)
    for i, p in enumerate(filled):
        ids[i, width - p.length :] = p.input_ids
        types[i, width - p.length :] = p.token_type_ids
        mask[i, width - p.length :] = 1
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    moved = {name: tensor.to(device) for name, tensor in inputs.items()}
    pixels = [p.pixel_values for p in filled if p.pixel_values is not None]
    if pixels:
        moved["pixel_values"] = torch.cat(pixels).to(device, dtype)
    return StaticBatch(inputs=moved, width=width, real=len(prompts), pad_id=pad_id)


def _streamer(on_step: Callable[[list[int]], None]) -> Any:
    from transformers.generation.streamers import BaseStreamer

    class StepStreamer(BaseStreamer):
        """Hands each decoding step's tokens (one per row) to `on_step`."""

        def __init__(self) -> None:
            self.prompt_seen = False

        def put(self, value: torch.Tensor) -> None:
            if not self.prompt_seen:  # generate() first puts the prompt itself
                self.prompt_seen = True
                return
            on_step([int(t) for t in value.reshape(-1).tolist()])

        def end(self) -> None:
            """Nothing to flush: `generate()` returning ends the batch."""

    return StepStreamer()


def _stopper(width: int, stopped: Callable[[int, int], bool], rows: int) -> Any:
    from transformers import StoppingCriteria

    class RowStopper(StoppingCriteria):
        """Per row: stopped once `stopped(row, generated)` says so (filler rows at once)."""

        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            generated = int(input_ids.shape[1]) - width
            done = [stopped(row, generated) for row in range(rows)]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return RowStopper()


def generate(
    model: Any,
    batch: StaticBatch,
    *,
    max_new_tokens: int,
    on_step: Callable[[list[int]], None],
    stopped: Callable[[int, int], bool],
    compile: bool,
    ignore_eos: bool = False,
) -> None:
    """Run `batch` through `generate()` with a static cache; tokens go to `on_step`.

    `stopped(row, generated)` is asked after each step; `generate()` returns when every
    row is stopped, at an end-of-turn token or at `max_new_tokens`.
    """
    from transformers import StoppingCriteriaList

    options: dict[str, Any] = {"min_new_tokens": max_new_tokens} if ignore_eos else {}
    with torch.inference_mode():
        model.generate(
            **batch.inputs,
            do_sample=False,
            max_new_tokens=max_new_tokens,
            cache_implementation="static",
            disable_compile=not compile,
            streamer=_streamer(on_step),
            stopping_criteria=StoppingCriteriaList([_stopper(batch.width, stopped, batch.rows)]),
            pad_token_id=batch.pad_id,
            **options,
        )
