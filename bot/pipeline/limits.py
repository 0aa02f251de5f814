"""Checks at start-up that what the bot may send fits what the model can take."""

from __future__ import annotations

from bot.backends.base import Capabilities
from bot.settings import Settings

INSTRUCTION_TOKENS = 200  # an image set's instruction, its labels and a question, roughly


def series_problem(settings: Settings, capabilities: Capabilities) -> str | None:
    """One line on why a full CT/MR series would not fit, or None when it does."""
    slices = settings.max_slices
    per_image = capabilities.tokens_per_image + 3  # each slice and its "SLICE i" label
    needed = slices * per_image + INSTRUCTION_TOKENS + settings.max_new_tokens
    cap = capabilities.max_images
    if cap is not None and slices > cap:
        return (
            f"a full series is {slices} slices but the model server takes {cap} images per "
            f"request: series will be thinned to {cap} (raise vLLM's --limit-mm-per-prompt and "
            "MEDGEMMA_SERVER_MAX_IMAGES, or lower MEDGEMMA_MAX_SLICES)"
        )
    if needed > capabilities.context_tokens:
        return (
            f"a full series of {slices} slices needs about {needed:,} tokens but the model's "
            f"context is {capabilities.context_tokens:,}: series will be thinned (start vLLM "
            "with a larger --max-model-len, or lower MEDGEMMA_MAX_SLICES)"
        )
    return None
