"""The `openai` backend: MedGemma behind any OpenAI-compatible server (vLLM, SGLang, Ollama)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import io
import logging
import re
from collections.abc import AsyncGenerator, Iterator, Sequence
from urllib.parse import urlsplit

import numpy as np
import openai
from openai.types.chat import (
    ChatCompletionContentPartParam,
    ChatCompletionMessageParam,
)
from PIL import Image

from bot.backends.base import (
    Capabilities,
    ChatMessage,
    GenerationRequest,
    ImagePart,
    Part,
    estimate_text_tokens,
    joined_texts,
)
from bot.backends.thinking import ThinkingFilter
from bot.errors import BackendBusy, BackendError, BackendTimeout, BackendUnavailable
from bot.logs import event

log = logging.getLogger(__name__)

API_KEY_PLACEHOLDER = "none"  # the SDK refuses an empty key; keyless servers ignore it
# Error `type`/`code` values are echoed into operator details only when they look like
# identifiers: a server could put anything there, user text included.
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class OpenAIBackend:
    """Streams answers from an OpenAI-compatible `/chat/completions` endpoint.

    `timeout_s` (MEDGEMMA_SERVER_TIMEOUT_S) bounds connecting, the wait for the reply to
    start (per try: the SDK retries connection failures, timeouts, 408/409/429 and 5xx
    `max_retries` times) and every wait between two chunks. It does not bound a whole
    answer that keeps streaming: the caller's generation deadline does.
    """

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float,
        context_tokens: int,
        max_images: int | None = None,
        max_retries: int = 1,
        tokens_per_image: int = 256,
    ) -> None:
        # `context_tokens` and `max_images` are the server's limits; a server that reports
        # its context (vLLM's `max_model_len` in /v1/models) replaces the first at start().
        self.capabilities = Capabilities(
            context_tokens=context_tokens, tokens_per_image=tokens_per_image, max_images=max_images
        )
        self._base_url = base_url
        self._api_key = api_key or API_KEY_PLACEHOLDER
        self._model = model
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._where = f"the server at {server_host(base_url)}"  # no credentials, no path
        self._client: openai.AsyncOpenAI | None = None

    async def start(self) -> None:
        """Connect and list the server's models once.

        Raises BackendUnavailable when the server cannot be reached or refuses the API
        key: both are settings or deployment problems an operator must fix before the
        bot answers anyone. A server that cannot list models, or does not list ours, is
        only logged: some proxies route models they do not list.
        """
        if self._client is None:
            self._client = openai.AsyncOpenAI(
                base_url=self._base_url,
                api_key=self._api_key,
                timeout=self._timeout_s,
                max_retries=self._max_retries,
            )
        try:
            models = [model async for model in self._client.models.list()]
        except openai.APIConnectionError as exc:
            await self.aclose()
            raise BackendUnavailable(f"cannot reach {self._where}") from exc
        except openai.APIStatusError as exc:
            if exc.status_code in (401, 403):
                await self.aclose()
                detail = f"{self._where} refused the API key (HTTP {exc.status_code})"
                raise BackendUnavailable(detail) from exc
            event(
                log,
                "models_unlisted",
                level=logging.WARNING,
                server=self._where,
                status=exc.status_code,
            )
            return
        listed = [model.id for model in models]
        ours = next((m for m in models if m.id == self._model), None)
        reported = (ours.model_extra or {}).get("max_model_len") if ours is not None else None
        if isinstance(reported, int) and reported > 0:
            self.capabilities = dataclasses.replace(self.capabilities, context_tokens=reported)
        event(
            log,
            "openai_server",
            level=logging.INFO if ours is not None else logging.WARNING,
            server=self._where,
            model=self._model,
            model_listed=ours is not None,
            models=listed[:20],
            context_tokens=self.capabilities.context_tokens,
            context_reported=isinstance(reported, int),
        )

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        """Yield the answer in chunks, without any thinking trace."""
        client = self._require_client()
        # PNG encoding is CPU work: keep it off the event loop.
        messages = await asyncio.to_thread(to_openai_messages, request.messages)
        thinking = ThinkingFilter()
        async with contextlib.aclosing(self._deltas(client, request, messages)) as deltas:
            async for delta in deltas:
                if shown := thinking.feed(delta):
                    yield shown
        if tail := thinking.flush():
            yield tail
        if thinking.ended_in_thought:
            event(log, "ended_in_thought", level=logging.WARNING, request_id=request.request_id)

    def count_text_tokens(self, text: str) -> int:
        """An upper estimate: the server's tokenizer is not at hand."""
        return estimate_text_tokens(text)

    async def aclose(self) -> None:
        """Close the connection pool; start() may open a new one."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def _require_client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            raise RuntimeError("OpenAIBackend.stream() called before start()")
        return self._client

    async def _deltas(
        self,
        client: openai.AsyncOpenAI,
        request: GenerationRequest,
        messages: list[ChatCompletionMessageParam],
    ) -> AsyncGenerator[str, None]:
        """Yield the raw content deltas of one streamed completion; translate failures."""
        # vLLM takes this header as its own request id, which ties its logs to ours.
        headers = {"X-Request-Id": request.request_id} if request.request_id else None
        try:
            chunks = await client.chat.completions.create(
                model=self._model,
                messages=messages,
                stream=True,
                temperature=0,
                max_tokens=request.max_new_tokens,
                extra_headers=headers,
            )
        except Exception as exc:
            raise self._translate(exc) from exc
        if request.on_queue_position is not None:
            request.on_queue_position(0)  # the server queues out of sight: report "running"
        async with chunks:
            while True:
                try:
                    # The SDK's read timeout is reset by keep-alive bytes; this is not.
                    async with asyncio.timeout(self._timeout_s):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    raise self._translate(exc, mid_stream=True) from exc
                if not chunk.choices:
                    continue
                if text := chunk.choices[0].delta.content:
                    yield text
                if (why := chunk.choices[0].finish_reason) and request.on_finish is not None:
                    # "length": the server stopped at max_tokens (or its context) mid-answer.
                    request.on_finish("length" if why == "length" else "stop")

    def _translate(self, exc: Exception, *, mid_stream: bool = False) -> BackendError:
        """The BackendError for a failure; its detail never holds server or user text.

        A connection lost once the answer has begun is a failed answer, not a server
        that cannot be reached.
        """
        if isinstance(exc, openai.APITimeoutError | TimeoutError):
            return BackendTimeout(f"{self._where} sent nothing for {self._timeout_s:g} s")
        if mid_stream and (isinstance(exc, openai.APIConnectionError) or _transport(exc)):
            return BackendError(f"lost the connection to {self._where} mid-answer")
        if isinstance(exc, openai.APIConnectionError):
            return BackendUnavailable(f"lost or could not open the connection to {self._where}")
        if isinstance(exc, openai.RateLimitError):
            return BackendBusy(f"{self._where} answered HTTP 429 ({error_kind(exc)})")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            return BackendError(f"{self._where} answered HTTP {status} ({error_kind(exc)})")
        if isinstance(exc, openai.APIError):
            return BackendError(f"{self._where} sent an error mid-stream ({error_kind(exc)})")
        return BackendError(f"streaming from {self._where} failed: {type(exc).__name__}")


def server_host(base_url: str) -> str:
    """`host:port` of a URL, leaving out credentials, path and query."""
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{parts.port}" if parts.port else host


def error_kind(exc: openai.APIError) -> str:
    """`type/code` of an OpenAI-style error, each kept only if it looks like an identifier."""
    values = [str(v) for v in (exc.type, exc.code) if v is not None]
    return "/".join(v if _SAFE_ID.fullmatch(v) else "?" for v in values) or "untyped"


def to_openai_messages(messages: Sequence[ChatMessage]) -> list[ChatCompletionMessageParam]:
    """The OpenAI form of a conversation; user turns keep their parts in order.

    Raises ValueError for an image outside a user turn: the API has no place for it.
    """
    users = [m for m in messages if m.role == "user"]  # images elsewhere are refused below
    images = [part.image for m in users for part in m.parts if isinstance(part, ImagePart)]
    urls = iter(encode_images(images))
    converted: list[ChatCompletionMessageParam] = []
    for message in messages:
        if message.role == "user":
            parts = [to_content_part(part, urls) for part in joined_texts(message.parts)]
            converted.append({"role": "user", "content": parts})
        elif message.images:
            raise ValueError(f"a {message.role} message cannot carry images")
        elif message.role == "system":
            converted.append({"role": "system", "content": message.text})
        else:
            converted.append({"role": "assistant", "content": message.text})
    return converted


def to_content_part(part: Part, urls: Iterator[str]) -> ChatCompletionContentPartParam:
    """One OpenAI content part: an image as its data URL (the next of `urls`), or text."""
    if isinstance(part, ImagePart):
        return {"type": "image_url", "image_url": {"url": next(urls)}}
    return {"type": "text", "text": part.text}


def encode_images(images: Sequence[Image.Image]) -> list[str]:
    """Data URLs of the images, in order.

    One after another: Pillow's PNG encoder holds the GIL (threads measured no faster).
    """
    return [png_data_url(image) for image in images]


def png_data_url(image: Image.Image) -> str:
    """A base64 PNG data URL of the image, one channel when its three are equal.

    Lossless either way: servers read images as RGB (vLLM's image loader converts
    every image to RGB), and a radiograph, an MR slice or a one-window CT slice is one
    channel three times over: a third of the data to compress and send.
    """
    buffer = io.BytesIO()
    # Level 1 encodes several times faster than the default 6, which matters for CT
    # series of dozens of slices, at a modest cost in size.
    one_channel(image).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def one_channel(image: Image.Image) -> Image.Image:
    """The image as "L" when it is grey (R = G = B everywhere), else as RGB."""
    if image.mode == "L":
        return image
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    pixels = np.asarray(rgb)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    grey = bool((red == green).all() and (green == blue).all())
    return rgb.getchannel("R") if grey else rgb


def _transport(exc: BaseException) -> bool:
    """An error of the HTTP library under the client (older openai releases raise them raw)."""
    return type(exc).__module__.split(".")[0] in {"httpx", "httpcore", "httpx2", "httpcore2", "h11"}
