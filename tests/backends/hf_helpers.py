"""A tiny Gemma 3 with diverse greedy outputs, prompts, and the reference decoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image

from bot.backends.base import ChatMessage, ImagePart, TextPart
from bot.backends.hf.prompt import PreparedPrompt, prepare

WINDOW = 80  # prompts below are shorter than this; answers carry them across it


def load_tiny(path: Path) -> tuple[Any, Any]:
    """Processor and model; weights scaled up so greedy answers vary from token to token."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(path)
    model = AutoModelForImageTextToText.from_pretrained(path, attn_implementation="sdpa").eval()
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() >= 2:
                param.mul_(2.0)
    return processor, model


def question(text: str, images: int = 1, shade: int = 0) -> tuple[ChatMessage, ...]:
    """A user turn with `images` distinct images and `text` (no system prompt: short)."""
    parts = tuple(
        ImagePart(Image.new("RGB", (40, 30), (shade + 60 * i, 100, 200 - 40 * i)))
        for i in range(images)
    )
    return (ChatMessage("user", (*parts, TextPart(text))),)


def reference(model: Any, prompt: PreparedPrompt, new_tokens: int) -> list[int]:
    """Greedy tokens from transformers' own `generate()`, one request at a time."""
    inputs: dict[str, Any] = {
        "input_ids": prompt.input_ids[None],
        "attention_mask": torch.ones_like(prompt.input_ids)[None],
        "token_type_ids": prompt.token_type_ids[None],
    }
    if prompt.pixel_values is not None:
        inputs["pixel_values"] = prompt.pixel_values
    out = model.generate(
        **inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False
    )
    return [int(t) for t in out[0, prompt.length :]]


def prompts(processor: Any) -> list[PreparedPrompt]:
    """Four prompts of different lengths and image counts."""
    return [
        prepare(processor, question("What is this?", 1)),
        prepare(processor, question("Compare both, please, in detail", 2, shade=30)),
        prepare(processor, question("Any fracture in the left wrist?", 0)),
        prepare(processor, question("Is there pneumonia on this film?", 1, shade=90)),
    ]
