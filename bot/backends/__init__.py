"""Model backends behind one small async contract, looked up by name."""

from __future__ import annotations

from bot.backends.base import Backend
from bot.errors import ConfigError
from bot.settings import Settings

NAMES = ("transformers", "openai")


def create_backend(settings: Settings) -> Backend:
    """The backend named by MEDGEMMA_BACKEND, configured from settings (not started)."""
    if settings.backend == "openai":
        from bot.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(
            base_url=settings.base_url,
            api_key=settings.api_key,
            model=settings.model,
            timeout_s=settings.timeout_s,
            context_tokens=settings.context_tokens,
        )
    if settings.backend == "transformers":
        from bot.backends.hf.backend import EngineOptions, TransformersBackend
        from bot.backends.hf.loader import LoadOptions

        return TransformersBackend(
            load_options=LoadOptions(
                model=settings.model,
                revision=settings.revision or None,
                token=settings.hf_token or None,
                device=settings.device,  # type: ignore[arg-type]
                dtype=settings.dtype,  # type: ignore[arg-type]
                multi_gpu=settings.multi_gpu,
                quantize_4bit=settings.quantize == "4bit",
            ),
            engine_options=EngineOptions(
                max_batch=settings.max_batch,
                slot_tokens=settings.slot_tokens,
                max_waiting=settings.max_waiting,
                compile=settings.compile,  # type: ignore[arg-type]
                timeout_s=settings.timeout_s,
            ),
        )
    raise ConfigError(f"MEDGEMMA_BACKEND must be one of {', '.join(NAMES)}")
