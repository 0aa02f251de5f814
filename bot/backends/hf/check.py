"""Is the serving step right? One step of it against transformers' eager path in fp32.

The serving step (slot cache, in-place decode attention, compiled with CUDA graphs
where it is, in the model's dtype) decodes one token after a prompt; the reference is
a plain transformers forward of the same prompt and token, without any cache, on the
same weights in float32. Their last-position logits are compared. Run it in the
generation thread (`Scheduler.call`) and last: it leaves the model in float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from bot.backends.hf.batching.engine import Engine
from bot.backends.hf.prompt import PreparedPrompt


@dataclass(frozen=True)
class StepCheck:
    """How far the serving step's logits are from the float32 reference."""

    relative_error: float  # ||served - reference|| / ||reference||
    max_abs_error: float
    same_argmax: bool
    compiled: bool  # whether the served step ran compiled
    reference_device: str

    @property
    def finite(self) -> bool:
        """False when the served logits hold NaN or infinity (the run must fail)."""
        return math.isfinite(self.relative_error) and math.isfinite(self.max_abs_error)


@torch.inference_mode()
def check_step(engine: Engine, prompt: PreparedPrompt) -> StepCheck:
    """Prefill `prompt` into row 0, compare one served step with the fp32 reference."""
    first = engine.prefill([prompt], [0])[0]
    served = engine.step_logits(1)[0].cpu()
    device = _to_float32(engine.model)
    reference = _reference_logits(engine.model, prompt, first, device=device).cpu()
    difference = (served - reference).float()
    return StepCheck(
        relative_error=float(difference.norm() / reference.norm()),
        max_abs_error=float(difference.abs().max()),
        same_argmax=bool(served.argmax() == reference.argmax()),
        compiled=engine.compiled,
        reference_device=str(device),
    )


def _to_float32(model: Any) -> torch.device:
    """Convert the model to float32 in place, on the CPU if its device lacks the room."""
    try:
        model.float()
    except torch.OutOfMemoryError:
        model.to("cpu", torch.float32)
    device: torch.device = model.get_input_embeddings().weight.device
    return device


def _reference_logits(
    model: Any, prompt: PreparedPrompt, token: int, *, device: torch.device
) -> torch.Tensor:
    """transformers' own forward over prompt + token, no cache; the last logits."""
    ids = torch.cat([prompt.input_ids, torch.tensor([token])])[None]
    types = torch.cat([prompt.token_type_ids, torch.zeros(1, dtype=torch.long)])[None]
    pixels = prompt.pixel_values
    out = model(
        input_ids=ids.to(device),
        attention_mask=torch.ones_like(ids).to(device),
        token_type_ids=types.to(device),
        pixel_values=pixels.to(device, torch.float32) if pixels is not None else None,
        use_cache=False,
        logits_to_keep=1,
    )
    logits: torch.Tensor = out.logits[0, -1].float()
    return logits
