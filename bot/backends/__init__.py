"""Model backends behind one small async contract, looked up by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.backends.base import Backend
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.backends.hf.backend import EngineOptions
    from bot.backends.hf.loader import LoadOptions


def load_options(settings: Settings) -> LoadOptions:
    """Where the in-process backend's weights come from and how they are placed."""
    from bot.backends.hf.loader import LoadOptions

    return LoadOptions(
        model=settings.model,
        revision=settings.revision or None,
        token=settings.hf_token or None,
        device=settings.device,
        dtype=settings.dtype,
        multi_gpu=settings.multi_gpu,
        quantize_4bit=settings.quantize == "4bit",
        offline=settings.hf_offline,
    )


def engine_options(settings: Settings) -> EngineOptions:
    """How the in-process backend batches and compiles."""
    from bot.backends.hf.backend import EngineOptions

    return EngineOptions(
        max_batch=settings.max_batch,
        slot_tokens=settings.slot_tokens,
        prefill_tokens=settings.prefill_tokens,
        prepare_workers=settings.prepare_workers,
        max_waiting=settings.max_waiting,
        compile=settings.compile,
        engine=settings.engine,
    )


def create_backend(settings: Settings, *, progress: Callable[[str], None] | None = None) -> Backend:
    """The backend named by MEDGEMMA_BACKEND, configured from settings (not started).

    `progress` hears the in-process backend's start-up steps (default: logged).
    """
    if settings.backend == "openai":
        from bot.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(
            base_url=settings.base_url,
            api_key=settings.api_key,
            model=settings.model,
            timeout_s=settings.server_timeout_s,
            context_tokens=settings.server_context_tokens,
            max_images=settings.server_max_images,
        )
    from bot.backends.hf.backend import TransformersBackend

    return TransformersBackend(
        load_options=load_options(settings),
        engine_options=engine_options(settings),
        progress=progress,
    )
