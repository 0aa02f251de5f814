"""Token counts from the server's own tokenizer where it serves one (vLLM: POST /tokenize).

The backend contract counts while a request is planned, synchronously, and the server
is a network call away. So the server's count stands for every text it has counted
before (the system prompt, a thread's earlier turns, image-set labels: each follow-up
counts them again) and the safe estimate (`estimate_text_tokens`) for a new one. The
texts counted by estimate wait, a bounded few, until the next request goes out; they
are tokenized just before it. Counts are kept under a digest of the text, never the
text, and the waiting texts go once tokenized or dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from urllib.parse import urlsplit, urlunsplit

import openai

from bot.backends.base import estimate_text_tokens
from bot.backends.openai_errors import error_name
from bot.logs import event

log = logging.getLogger(__name__)

TOKENIZE_TIMEOUT_S = 3.0  # all the texts waiting before one request, together
MAX_WAITING = 32  # texts waiting to be tokenized; more are counted by estimate only
MAX_KNOWN = 4096  # counts kept, the least recently used dropped first
# A text tokenized alone can split differently where it meets its neighbours in the
# prompt: one token of slack per text keeps the count an upper bound.
BOUNDARY_TOKENS = 1


class ServerTokenCounts:
    """The server's token counts for texts it has seen; the safe estimate for the rest."""

    def __init__(self, *, base_url: str, model: str) -> None:
        self.url = tokenize_url(base_url)
        self.available = False  # set by start() when the server tokenizes
        self._model = model
        self._known: OrderedDict[str, int] = OrderedDict()
        self._waiting: dict[str, str] = {}

    def count(self, text: str) -> int:
        """The server's count when known; otherwise the estimate, and the text waits."""
        key = _digest(text)
        known = self._known.get(key)
        if known is not None:
            self._known.move_to_end(key)
            return known
        if self.available and len(self._waiting) < MAX_WAITING:
            self._waiting[key] = text
        return estimate_text_tokens(text)

    async def start(self, client: openai.AsyncOpenAI) -> None:
        """Whether the server tokenizes: one request with one character."""
        self.available = await self._tokenize(client, "1") is not None
        event(log, "server_tokenizer", available=self.available)

    async def learn(self, client: openai.AsyncOpenAI) -> None:
        """Tokenize the texts counted by estimate since the last request (bounded)."""
        waiting, self._waiting = self._waiting, {}
        if not waiting or not self.available:
            return
        try:
            async with asyncio.timeout(TOKENIZE_TIMEOUT_S):
                asks = (self._tokenize(client, text) for text in waiting.values())
                counts = await asyncio.gather(*asks)
        except TimeoutError:
            event(log, "tokenize_slow", level=logging.WARNING, texts=len(waiting))
            return
        for key, count in zip(waiting, counts, strict=True):
            if count is not None:
                self._known[key] = count + BOUNDARY_TOKENS
        while len(self._known) > MAX_KNOWN:
            self._known.popitem(last=False)

    async def _tokenize(self, client: openai.AsyncOpenAI, text: str) -> int | None:
        """The server's count for a text, or None when it does not give one."""
        body = {"model": self._model, "prompt": text, "add_special_tokens": False}
        try:
            reply = await client.with_options(max_retries=0, timeout=TOKENIZE_TIMEOUT_S).post(
                self.url, cast_to=object, body=body
            )
        except openai.APIError as exc:
            event(log, "tokenize_failed", level=logging.DEBUG, error=error_name(exc))
            return None
        count = reply.get("count") if isinstance(reply, dict) else None
        return count if isinstance(count, int) and count >= 0 else None


def tokenize_url(base_url: str) -> str:
    """vLLM's /tokenize: at the server's root, beside /v1 rather than under it."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    root = path[: -len("/v1")] if path.endswith("/v1") else path
    return urlunsplit((parts.scheme, parts.netloc, root + "/tokenize", "", ""))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
