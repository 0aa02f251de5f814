"""The bot's limits: the size of a shared file, and what the model can take.

`SizeCap` is the one download cap, checked on the size a file declares and again as its
bytes arrive; `series_problem` checks at start-up that a full series fits the model
(the openai backend has learnt the server's context and image limit by then).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.backends.base import Capabilities
from bot.errors import FileTooLarge
from bot.settings import Settings


@dataclass(frozen=True)
class SizeCap:
    """The largest file the bot reads (MEDGEMMA_MAX_FILE_MB), in bytes."""

    max_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> SizeCap:
        """The cap the settings ask for."""
        return cls(max_bytes=settings.max_file_bytes)

    def check(self, size: int | None) -> None:
        """Raise FileTooLarge when `size` (None: unknown) is over the cap."""
        if size is not None and size > self.max_bytes:
            raise FileTooLarge("file over the size cap", limit_mb=self.limit_mb)

    @property
    def limit_mb(self) -> str:
        """The cap as users read it, in MB with one decimal."""
        return f"{self.max_bytes / 2**20:.1f}"


INSTRUCTION_TOKENS = 200  # an image set's instruction, its labels and a question, roughly


def series_problem(settings: Settings, capabilities: Capabilities) -> str | None:
    """One line on why a full CT/MR series would not fit, or None when it does."""
    slices = settings.max_slices
    per_image = capabilities.tokens_per_image + 3  # each slice and its "SLICE i" label
    needed = slices * per_image + INSTRUCTION_TOKENS + settings.max_new_tokens
    cap = capabilities.max_images
    if cap is not None and slices > cap:
        return _image_cap_problem(slices, cap, learnt=cap < settings.server_max_images)
    if needed > capabilities.context_tokens:
        return (
            f"a full series of {slices} slices needs about {needed:,} tokens but the model's "
            f"context is {capabilities.context_tokens:,}: series will be thinned (start vLLM "
            "with a larger --max-model-len, or lower MEDGEMMA_MAX_SLICES)"
        )
    return None


def _image_cap_problem(slices: int, cap: int, *, learnt: bool) -> str:
    """Why a full series is thinned: the server's own limit, or the bot's setting."""
    if learnt:  # the server refused more at start-up (openai_limits' probe)
        return (
            f"a full series is {slices} slices but the model server takes {cap} images per "
            f"request (vLLM's --limit-mm-per-prompt): series will be thinned to {cap} (raise "
            "--limit-mm-per-prompt, or lower MEDGEMMA_MAX_SLICES)"
        )
    return (
        f"a full series is {slices} slices but MEDGEMMA_SERVER_MAX_IMAGES is {cap}: series "
        f"will be thinned to {cap} (raise it and vLLM's --limit-mm-per-prompt, or lower "
        "MEDGEMMA_MAX_SLICES)"
    )
