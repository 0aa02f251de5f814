"""Loading MedGemma's processor and weights with sensible automatic choices."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch

from bot.backends.hf.hub import (
    HUB_PAGE,
    PROBE_TIMEOUT_S,
    cached_snapshot,
    local_folder,
    looks_like_path,
    probe,
)
from bot.errors import BackendUnavailable, ConfigError
from bot.logs import adopt_library_loggers, event
from bot.settings import Device, DType

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadOptions:
    """Where the weights come from and how they are placed."""

    model: str
    revision: str | None
    token: str | None
    device: Device
    dtype: DType
    multi_gpu: bool  # spread layers over all visible GPUs (device_map="auto")
    quantize_4bit: bool  # bitsandbytes NF4, for 16 GB cards
    attention: Literal["sdpa", "eager"] = "sdpa"
    offline: bool = False  # HF_HUB_OFFLINE: the local cache only, never the Hub


@dataclass(frozen=True)
class Source:
    """Where the weights are read from; `notice` says so when it is not the usual place."""

    local_only: bool  # transformers' local_files_only: no request to the Hub at all
    notice: str | None = None


def weights_source(options: LoadOptions, *, timeout_s: float = PROBE_TIMEOUT_S) -> Source:
    """A local folder or the cache at once; the Hub only when one short request reaches it.

    Without this, an absent network costs minutes: the Hub client retries each file with
    backoff before transformers falls back to the cache.
    """
    model = options.model
    if local_folder(model) is not None:
        return Source(local_only=True)
    if looks_like_path(model):
        raise BackendUnavailable(
            f"MEDGEMMA_MODEL={model}: not found; point it at the folder that holds the "
            "checkpoint (config.json, *.safetensors, tokenizer and processor files)"
        )
    cached = cached_snapshot(model, options.revision) is not None
    if options.offline:
        if not cached:
            raise BackendUnavailable(_not_cached(model, "HF_HUB_OFFLINE is set"))
        return Source(local_only=True, notice=f"offline: using the cached copy of {model}")
    found = probe(model, revision=options.revision, token=options.token, timeout_s=timeout_s)
    if found.reply != "unreachable":
        return Source(local_only=False)
    why = f"the Hugging Face Hub cannot be reached ({found.reason})"
    if not cached:
        raise BackendUnavailable(_not_cached(model, why))
    return Source(local_only=True, notice=f"{why}: using the cached copy of {model}")


def _not_cached(model: str, why: str) -> str:
    return (
        f"{why} and {model} is not in the local Hugging Face cache: download it where there "
        f"is network (`hf download {model}`) and copy the cache here, or set MEDGEMMA_MODEL "
        "to a local folder"
    )


def choose_device(requested: Device) -> Literal["cuda", "cpu"]:
    """`auto` takes the GPU when there is one."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("MEDGEMMA_DEVICE=cuda but no CUDA GPU is visible")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def choose_dtype(requested: DType, device: str) -> torch.dtype:
    """bf16 where the GPU supports it (compute capability >= 8.0), else fp32; never fp16.

    Gemma 3's activations overflow in fp16 and answers come out empty or NaN
    (transformers issue 36822), so fp16 is refused rather than silently used.
    """
    if requested not in ("auto", "bfloat16", "float32"):  # settings refuse fp16 already
        raise ConfigError("MEDGEMMA_DTYPE=float16 is not allowed: Gemma 3 overflows in fp16")
    if requested == "float32":
        return torch.float32
    if requested == "bfloat16":
        return torch.bfloat16
    if (
        device == "cuda"
        and torch.cuda.is_available()
        and torch.cuda.get_device_capability()[0] >= 8
    ):
        return torch.bfloat16
    return torch.float32


def _quantization(options: LoadOptions, dtype: torch.dtype) -> Any:
    if not options.quantize_4bit:
        return None
    try:
        from transformers import BitsAndBytesConfig
    except ImportError as exc:  # pragma: no cover - depends on the transformers build
        raise ConfigError("MEDGEMMA_QUANTIZE=4bit needs bitsandbytes installed") from exc
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype
    )


def _why_unavailable(exc: BaseException, model: str) -> str:
    """A fixed, helpful operator message for a loading failure."""
    names = set()
    cause: BaseException | None = exc
    while cause is not None:  # transformers wraps the hub's errors in OSError
        names.add(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    if "GatedRepoError" in names:
        page = HUB_PAGE.format(model=model)
        return f"{model} is gated: accept its terms at {page}, then set HF_TOKEN"
    if names & {"RepositoryNotFoundError", "RevisionNotFoundError"}:
        return f"{model} (or MEDGEMMA_REVISION) was not found, or HF_TOKEN has no access to it"
    return (
        f"could not load {model}: the Hugging Face Hub is unreachable and the weights are not "
        "in the local cache, or HF_TOKEN lacks access (set HF_TOKEN, check the network, or "
        "point MEDGEMMA_MODEL at a local folder)"
    )


def tokenizer_problem(processor: Any) -> str | None:
    """A warning when the checkpoint predates MedGemma's July 2025 end-of-image fix.

    The re-release added `<end_of_image>` after each image's tokens; without it image
    answers degrade (reference/medgemma.md). The fixed processor's image sequence ends
    with that token.
    """
    sequence = str(getattr(processor, "full_image_sequence", ""))
    if "<end_of_image>" in sequence:
        return None
    return (
        "this checkpoint's processor puts no <end_of_image> after images (a release before "
        "2025-07-09): image answers are degraded; set MEDGEMMA_REVISION to a newer commit"
    )


def load(options: LoadOptions, *, say: Callable[[str], None] | None = None) -> tuple[Any, Any]:
    """Load processor and model; raise BackendUnavailable with a clear reason.

    `say` hears where the weights come from when that is worth saying (the cache
    instead of the Hub); by default it is logged.
    """
    adopt_library_loggers()
    from transformers import AutoModelForImageTextToText, AutoProcessor

    device = choose_device(options.device)
    dtype = choose_dtype(options.dtype, device)
    source = weights_source(options)
    if source.notice is not None:
        if say is None:
            event(log, "weights_source", level=logging.WARNING, notice=source.notice)
        else:
            say(source.notice)
    common = {
        "revision": options.revision,
        "token": options.token or None,
        "local_files_only": source.local_only,
    }
    started = time.monotonic()
    try:
        processor = AutoProcessor.from_pretrained(options.model, **common)
        model = AutoModelForImageTextToText.from_pretrained(
            options.model,
            dtype=dtype,
            device_map="auto" if options.multi_gpu else device,
            attn_implementation=options.attention,
            quantization_config=_quantization(options, dtype),
            **common,
        )
    except ConfigError:
        raise
    except Exception as exc:
        raise BackendUnavailable(_why_unavailable(exc, options.model)) from exc
    model.eval()
    event(
        log,
        "model_loaded",
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        seconds=round(time.monotonic() - started, 1),
        multi_gpu=options.multi_gpu,
        quantized=options.quantize_4bit,
    )
    if (problem := tokenizer_problem(processor)) is not None:
        event(log, "tokenizer_outdated", level=logging.WARNING, problem=problem)
    return processor, model
