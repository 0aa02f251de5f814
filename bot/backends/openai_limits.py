"""What an OpenAI-compatible server takes, learnt from the server and learnt again.

The context: vLLM reports `max_model_len` (its --max-model-len) in /v1/models, which
replaces MEDGEMMA_SERVER_CONTEXT_TOKENS. The image limit (--limit-mm-per-prompt) is in
no listing, so a probe learns it from a server that reports `max_model_len`: one
request with as many 8x8 images as the bot may send (MEDGEMMA_SERVER_MAX_IMAGES), and
a one-token answer. vLLM counts the images as it parses the request, before any model
work, and refuses too many with HTTP 400 stating its limit; a request it takes is
closed as soon as its reply starts. One request at start-up, refused at once in the
common case, against a setting that fails every larger series when it is wrong.

A server restarted with other flags changes both. After a lost connection, or a refusal
for length or images, the limits are read again before the next request: at most once
per REFRESH_INTERVAL_S, so a failing server is not asked on every question.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import logging
import time

import openai
from openai.types.chat import ChatCompletionContentPartParam
from PIL import Image

from bot.backends.base import Capabilities
from bot.backends.openai_errors import Refusal, error_name, refusal
from bot.errors import BackendUnavailable
from bot.logs import event

log = logging.getLogger(__name__)

REFRESH_INTERVAL_S = 10.0  # the least time between two readings after start-up
PROBE_SIDE = 8  # pixels: tiny, and still an image every processor resizes without fuss


class ServerLimits:
    """The server's context and image limit, and when to read them again."""

    def __init__(
        self,
        *,
        capabilities: Capabilities,
        model: str,
        where: str,
    ) -> None:
        self.capabilities = capabilities
        self._most_images = capabilities.max_images  # the setting: never probe past it
        self._model = model
        self._where = where
        self._stale = False
        self._read_at = -REFRESH_INTERVAL_S  # start-up's reading does not count
        self._lock = asyncio.Lock()

    async def start(self, client: openai.AsyncOpenAI) -> None:
        """The first reading.

        Raises BackendUnavailable when the server cannot be reached or refuses the API
        key: both are settings or deployment problems an operator must fix before the
        bot answers anyone. A server that cannot list models, or does not list ours, is
        only logged: some proxies route models they do not list.
        """
        try:
            await self._read(client, first=True)
        except openai.APIConnectionError as exc:
            raise BackendUnavailable(f"cannot reach {self._where}") from exc
        except openai.APIStatusError as exc:
            if exc.status_code in (401, 403):
                detail = f"{self._where} refused the API key (HTTP {exc.status_code})"
                raise BackendUnavailable(detail) from exc
            status = exc.status_code
            event(log, "models_unlisted", level=logging.WARNING, server=self._where, status=status)

    def lost_connection(self) -> None:
        """The server went away: it may come back with other limits."""
        self._stale = True

    async def refused(self, client: openai.AsyncOpenAI, refused: Refusal) -> None:
        """Learn from a refusal: a stated image limit at once, anything else by reading."""
        if refused.limit == "images" and refused.images is not None:
            self._update(max_images=refused.images, why="refusal")
            return
        self._stale = True
        await self.refresh(client)

    async def refresh(self, client: openai.AsyncOpenAI) -> None:
        """Read the limits again if they may have changed (at most once per interval)."""
        if not self._stale or time.monotonic() - self._read_at < REFRESH_INTERVAL_S:
            return
        async with self._lock:
            if not self._stale:
                return  # another request read them while this one waited
            self._read_at = time.monotonic()
            try:
                await self._read(client, first=False)
            except Exception as exc:  # a failed reading must never hide the asker's message
                event(log, "limits_unread", level=logging.WARNING, error=error_name(exc))
                return
            self._stale = False

    async def _read(self, client: openai.AsyncOpenAI, *, first: bool) -> None:
        """List the models (the context), then probe the image limit where it makes sense."""
        models = [model async for model in client.models.list()]
        ours = next((m for m in models if m.id == self._model), None)
        reported = (ours.model_extra or {}).get("max_model_len") if ours is not None else None
        context = reported if isinstance(reported, int) and reported > 0 else None
        images = await self._probe(client) if context is not None else None
        self._update(context_tokens=context, max_images=images, why="start" if first else "read")
        if first:
            event(
                log,
                "openai_server",
                level=logging.INFO if ours is not None else logging.WARNING,
                server=self._where,
                model=self._model,
                model_listed=ours is not None,
                models=[model.id for model in models][:20],
                context_tokens=self.capabilities.context_tokens,
                context_reported=context is not None,
                max_images=self.capabilities.max_images,
                images_probed=images is not None,
            )

    async def _probe(self, client: openai.AsyncOpenAI) -> int | None:
        """The server's image limit: the setting when it takes that many, None when unknown."""
        count = self._most_images
        if count is None:
            return None
        content: list[ChatCompletionContentPartParam] = [
            {"type": "image_url", "image_url": {"url": _tiny_png()}} for _ in range(count)
        ]
        content.append({"type": "text", "text": "."})
        try:
            reply = await client.with_options(max_retries=0).chat.completions.create(
                model=self._model,
                messages=[{"role": "user", "content": content}],
                stream=True,
                max_tokens=1,
                temperature=0,
            )
        except openai.APIError as exc:
            found = refusal(exc)
            if found is not None and found.limit == "images" and found.images is not None:
                return found.images
            if found is not None and found.limit == "context":
                return count  # vLLM counts images first: these passed, the length did not
            event(log, "images_unprobed", level=logging.WARNING, error=error_name(exc))
            return None
        await reply.close()  # taken: nothing to wait for
        return count

    def _update(
        self, *, context_tokens: int | None = None, max_images: int | None = None, why: str
    ) -> None:
        """Apply what was learnt; a change after start-up is worth a warning."""
        was = self.capabilities
        now = dataclasses.replace(
            was,
            context_tokens=context_tokens or was.context_tokens,
            max_images=max_images or was.max_images,
        )
        if now == was:
            return
        self.capabilities = now
        event(
            log,
            "server_limits",
            level=logging.INFO if why == "start" else logging.WARNING,
            server=self._where,
            why=why,
            context_tokens=now.context_tokens,
            was_context_tokens=was.context_tokens,
            max_images=now.max_images,
            was_max_images=was.max_images,
        )


def _tiny_png() -> str:
    """A data URL of an 8x8 grey PNG (a few dozen bytes)."""
    buffer = io.BytesIO()
    Image.new("RGB", (PROBE_SIDE, PROBE_SIDE), (128, 128, 128)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
