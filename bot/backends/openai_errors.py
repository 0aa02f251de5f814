"""An OpenAI-compatible server's failures as BotErrors, with none of the server's text.

vLLM refuses a request over its limits with HTTP 400 before any model work, and names
the request field at fault in the error's `param` (`VLLMValidationError.parameter`, set
by vllm/entrypoints/serve/exception_handling/error_response.py):

- "input_tokens": the prompt is longer than --max-model-len (vllm/renderers/params.py,
  `_token_len_check`); "input_text": the same, caught on characters before tokenizing;
  "max_tokens" / "max_completion_tokens": the answer's allowance exceeds the context.
- "image": more images than --limit-mm-per-prompt, with the message "At most N image(s)
  may be provided in one prompt." (vllm/multimodal/processing/context.py,
  `validate_num_items`, called as each image of a chat request is parsed).

vLLM 0.32 sends `{"error": {"message", "type", "param", "code"}}`; older releases sent
the same fields flat beside `"object": "error"`, and often without `param`: the SDK
reads both shapes, and a refusal without `param` is recognised by OpenAI's code
"context_length_exceeded" or vLLM's wording. Only the image limit, a number, is ever
read out of the server's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import openai

from bot.errors import (
    BackendBusy,
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ServerContextExceeded,
    ServerImageLimit,
)

# Error `type`/`code` values are echoed into operator details only when they look like
# identifiers: a server could put anything there, user text included.
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
CONTEXT_PARAMS = frozenset({"input_tokens", "input_text", "max_tokens", "max_completion_tokens"})
_CONTEXT_WORDING = re.compile(r"maximum context length|context_length_exceeded", re.IGNORECASE)
_IMAGE_LIMIT = re.compile(r"\bAt most (\d{1,6}) image\(s\) may be provided", re.IGNORECASE)


@dataclass(frozen=True)
class Refusal:
    """A request the server refused as over one of its limits."""

    limit: Literal["context", "images"]
    images: int | None = None  # the image limit the server stated
    param: str = ""  # the request field the server named, when it looks like one


def refusal(exc: BaseException) -> Refusal | None:
    """What limit a 400 says the request broke; None for any other failure."""
    if not isinstance(exc, openai.BadRequestError):
        return None
    param = exc.param if isinstance(exc.param, str) and _SAFE_ID.fullmatch(exc.param) else ""
    message = _message(exc)
    stated = _IMAGE_LIMIT.search(message)
    if param == "image" or (not param and stated):
        images = int(stated.group(1)) if stated else None
        return Refusal("images", images=images, param=param)
    if param in CONTEXT_PARAMS or exc.code == "context_length_exceeded":
        return Refusal("context", param=param)
    if not param and _CONTEXT_WORDING.search(message):
        return Refusal("context")
    return None


def _message(exc: openai.APIStatusError) -> str:
    """The error's own message (never logged or shown: it may echo the prompt)."""
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""


def translate(
    exc: BaseException, *, where: str, timeout_s: float, mid_stream: bool = False
) -> BackendError:
    """The BackendError for a failure; its detail never holds server or user text.

    A connection lost once the answer has begun is a failed answer, not a server
    that cannot be reached.
    """
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return BackendTimeout(f"{where} sent nothing for {timeout_s:g} s")
    if mid_stream and (isinstance(exc, openai.APIConnectionError) or transport_error(exc)):
        return BackendError(f"lost the connection to {where} mid-answer")
    if isinstance(exc, openai.APIConnectionError):
        return BackendUnavailable(f"lost or could not open the connection to {where}")
    if isinstance(exc, openai.RateLimitError):
        return BackendBusy(f"{where} answered HTTP 429 ({error_kind(exc)})")
    if (refused := refusal(exc)) is not None:
        return refused_error(refused, where=where)
    if isinstance(exc, openai.APIStatusError):
        return BackendError(f"{where} answered HTTP {exc.status_code} ({error_kind(exc)})")
    if isinstance(exc, openai.APIError):
        return BackendError(f"{where} sent an error mid-stream ({error_kind(exc)})")
    return BackendError(f"streaming from {where} failed: {type(exc).__name__}")


def refused_error(refused: Refusal, *, where: str) -> BackendError:
    """The error the asker reads for a refusal: what to change, never "try again"."""
    named = f", param {refused.param}" if refused.param else ""
    if refused.limit == "images":
        stated = "" if refused.images is None else f" at most {refused.images}"
        return ServerImageLimit(f"{where} refused the request's images (HTTP 400{named}){stated}")
    return ServerContextExceeded(
        f"{where} refused the request as over its context (HTTP 400{named})"
    )


def error_kind(exc: openai.APIError) -> str:
    """`type/code` of an OpenAI-style error, each kept only if it looks like an identifier."""
    values = [str(v) for v in (exc.type, exc.code) if v is not None]
    return "/".join(v if _SAFE_ID.fullmatch(v) else "?" for v in values) or "untyped"


def error_name(exc: BaseException) -> str:
    """An error's class, and its HTTP status and kind where it has them: safe to log."""
    if isinstance(exc, openai.APIStatusError):
        return f"{type(exc).__name__} HTTP {exc.status_code} ({error_kind(exc)})"
    return type(exc).__name__


def transport_error(exc: BaseException) -> bool:
    """An error of the HTTP library under the client (older openai releases raise them raw)."""
    return type(exc).__module__.split(".")[0] in {"httpx", "httpcore", "httpx2", "httpcore2", "h11"}
