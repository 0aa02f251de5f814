"""The `openai` backend: MedGemma behind any OpenAI-compatible server (vLLM, SGLang, Ollama)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
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
    joined_texts,
)
from bot.backends.openai_errors import refusal, translate, transport_error
from bot.backends.openai_limits import ServerLimits
from bot.backends.openai_tokens import ServerTokenCounts
from bot.backends.thinking import ThinkingFilter
from bot.errors import BackendError, BackendUnavailable
from bot.logs import event

log = logging.getLogger(__name__)

API_KEY_PLACEHOLDER = "none"  # the SDK refuses an empty key; keyless servers ignore it


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
        # `context_tokens` and `max_images` are the server's limits as configured; the
        # server's own replace them at start() and later (see openai_limits).
        self._base_url = base_url
        self._api_key = api_key or API_KEY_PLACEHOLDER
        self._model = model
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._where = f"the server at {server_host(base_url)}"  # no credentials, no path
        self._client: openai.AsyncOpenAI | None = None
        self._limits = ServerLimits(
            capabilities=Capabilities(
                context_tokens=context_tokens,
                tokens_per_image=tokens_per_image,
                max_images=max_images,
            ),
            model=model,
            where=self._where,
        )
        self._tokens = ServerTokenCounts(base_url=base_url, model=model)

    async def start(self) -> None:
        """Connect, and learn the server's limits and whether it tokenizes.

        Raises BackendUnavailable when the server cannot be reached or refuses the API
        key (see ServerLimits.start).
        """
        if self._client is None:
            self._client = openai.AsyncOpenAI(
                base_url=self._base_url,
                api_key=self._api_key,
                timeout=self._timeout_s,
                max_retries=self._max_retries,
            )
        try:
            await self._limits.start(self._client)
        except BackendUnavailable:
            await self.aclose()
            raise
        await self._tokens.start(self._client)

    @property
    def capabilities(self) -> Capabilities:
        """What the server takes, as last learnt (see ServerLimits)."""
        return self._limits.capabilities

    @capabilities.setter
    def capabilities(self, value: Capabilities) -> None:
        self._limits.capabilities = value

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        """Yield the answer in chunks, without any thinking trace."""
        client = self._require_client()
        await self._before_request(client)
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
        """The server's count for a text it has tokenized before, else a safe estimate."""
        return self._tokens.count(text)

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
            raise await self._refused(exc) from exc
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
        """The BackendError for a failure (see openai_errors.translate).

        A lost connection may be a restart with other limits: they are read again.
        """
        if isinstance(exc, openai.APIConnectionError) or transport_error(exc):
            self._limits.lost_connection()
        return translate(exc, where=self._where, timeout_s=self._timeout_s, mid_stream=mid_stream)

    async def _refused(self, exc: Exception) -> BackendError:
        """`_translate` for a request that did not start; a refusal for the server's limits
        is learnt first, so that the asker's next question is planned within them."""
        if (refused := refusal(exc)) is not None:
            await self._limits.refused(self._require_client(), refused)
        return self._translate(exc)

    async def _before_request(self, client: openai.AsyncOpenAI) -> None:
        """Read the limits again if they may have changed; learn the server's token counts."""
        await self._limits.refresh(client)
        await self._tokens.learn(client)


def server_host(base_url: str) -> str:
    """`host:port` of a URL, leaving out credentials, path and query."""
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{parts.port}" if parts.port else host


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
