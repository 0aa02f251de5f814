"""A fake OpenAI-compatible chat server on 127.0.0.1 that records what it is asked.

Replies are scripted per request (a queue of `Reply`, `Fail`, `Hang`, `Drop`,
`StreamError`); when the queue is empty, `default_reply(body)` answers. The default
echoes a digest of the last user text, so concurrent tests can match answers to
questions with `echo_answer(question)`. A request without `stream: true` gets one
`chat.completion`; `Drop` and `StreamError` then do not apply and the reply is whole.

Set as vLLM is started, the fake acts on its limits as vLLM 0.32 does: `max_model_len`
(--max-model-len, listed in /v1/models) and `image_limit` (--limit-mm-per-prompt, listed
nowhere) refuse a request over them with HTTP 400 and vLLM's error, and `tokenizer`
serves vLLM's POST /tokenize (tests/fakes/vllm.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.backend import question_of
from tests.fakes.vllm import error_body, over_limits, tokenize_reply

DEFAULT_MODEL = "google/medgemma-1.5-4b-it"  # the bot's default model
Body = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """Answer with these content chunks, after a pause (a model that takes its time)."""

    chunks: tuple[str, ...]
    pause_s: float = 0.0
    finish_reason: str | None = "stop"  # "length": cut at max_tokens; None: never said


@dataclass(frozen=True)
class Fail:
    """Answer with an HTTP error and an OpenAI-style error body."""

    status: int
    error_type: str
    code: str | int | None
    message: str
    retry_after_ms: int | None = None
    param: str | None = None
    flat: bool = False  # vLLM before 0.10: the fields flat beside "object": "error"


@dataclass(frozen=True)
class Hang:
    """Stall: before the response headers (None) or after some content chunks."""

    after_chunks: int | None
    keepalive_s: float | None = None  # while stalled mid-stream, send SSE comments this often


@dataclass(frozen=True)
class Drop:
    """Close the connection after some content chunks, without finishing the stream."""

    after_chunks: int


@dataclass(frozen=True)
class StreamError:
    """Send an error event after some content chunks, as vLLM does mid-stream."""

    after_chunks: int
    error_type: str
    code: str | int | None
    message: str


@dataclass(frozen=True)
class Malformed:
    """Send an event that is not JSON after some content chunks (a broken proxy, a bug)."""

    after_chunks: int


Script = Reply | Fail | Hang | Drop | StreamError | Malformed


def digest(text: str) -> str:
    """A short fingerprint of a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def last_user_text(body: Body) -> str:
    """The text parts of the last user message of a chat request, joined, without the
    bot's safety line (as the asker wrote them)."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    if not users:
        return ""
    content = users[-1].get("content", "")
    if isinstance(content, str):
        return question_of(content)
    return question_of("\n\n".join(p["text"] for p in content if p.get("type") == "text"))


def echo_answer(question: str) -> str:
    """The default reply to a request whose last user text is `question`."""
    return f"Answer for {digest(question)} follows here."


def split_words(text: str) -> tuple[str, ...]:
    """Split text into word-sized chunks that join back to it."""
    return tuple(re.findall(r"\s*\S+\s*", text)) or (text,)


class FakeOpenAIServer:
    """The fake server; use `async with FakeOpenAIServer() as server:`."""

    def __init__(
        self,
        *,
        models: Sequence[str] = (DEFAULT_MODEL,),
        api_key: str | None = None,
        default_reply: Callable[[Body], str] | None = None,
    ) -> None:
        self.models = list(models)
        self.max_model_len: int | None = None  # set to act as vLLM does
        self.image_limit: int | None = None  # vLLM's --limit-mm-per-prompt: listed nowhere
        self.tokenizer = False  # True: serve vLLM's POST /tokenize
        self.tokenized: list[str] = []  # the texts /tokenize was asked about
        self.refusals: list[str] = []  # the `param` of every limit refusal sent
        self.api_key = api_key  # when set, requests without this bearer token get 401
        self.default_reply = default_reply or (lambda body: echo_answer(last_user_text(body)))
        self.requests: list[Body] = []  # chat request bodies, in arrival order
        self.headers: list[CIMultiDict[str]] = []  # headers of those requests (any case)
        self.model_listings = 0
        self.script: deque[Script] = deque()
        self._released = asyncio.Event()  # set at close so that hanging handlers end
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def reply(
        self,
        text: str | None = None,
        *,
        chunks: Sequence[str] | None = None,
        pause_s: float = 0.0,
        finish_reason: str | None = "stop",
    ) -> None:
        """Queue a reply: `text` split into words, or exactly `chunks`, after `pause_s`,
        ending with `finish_reason` ("length" as a server cut at max_tokens does)."""
        words = tuple(chunks) if chunks is not None else split_words(text or "")
        self.script.append(Reply(words, pause_s, finish_reason))

    def fail(
        self,
        status: int = 500,
        *,
        error_type: str = "InternalServerError",
        code: str | int | None = None,
        message: str = "The server had an error.",
        retry_after_ms: int | None = None,
        param: str | None = None,
        flat: bool = False,
    ) -> None:
        """Queue an HTTP error reply."""
        self.script.append(Fail(status, error_type, code, message, retry_after_ms, param, flat))

    def hang(self, *, after_chunks: int | None = None, keepalive_s: float | None = None) -> None:
        """Queue a stall, before the headers (None) or after some chunks of the default reply.

        With `keepalive_s`, a stall mid-stream sends SSE comments as proxies do, which
        keep the client's socket read timeout from firing.
        """
        self.script.append(Hang(after_chunks, keepalive_s))

    def drop(self, *, after_chunks: int = 1) -> None:
        """Queue a dropped connection after some chunks of the default reply."""
        self.script.append(Drop(after_chunks))

    def stream_error(
        self,
        *,
        after_chunks: int = 1,
        error_type: str = "BadRequestError",
        code: str | int | None = 400,
        message: str = "error",
    ) -> None:
        """Queue an error event inside the stream after some chunks of the default reply."""
        self.script.append(StreamError(after_chunks, error_type, code, message))

    def malformed(self, *, after_chunks: int = 1) -> None:
        """Queue a stream that breaks off into an event that is not JSON."""
        self.script.append(Malformed(after_chunks))

    async def __aenter__(self) -> FakeOpenAIServer:
        await self._serve(port=0)
        return self

    async def _serve(self, *, port: int) -> None:
        # vLLM (uvicorn) takes a body of any size; aiohttp's default would refuse 1 MiB.
        app = web.Application(client_max_size=1 << 30)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/tokenize", self._tokenize)
        # Cancel handlers whose client went away, so a stalled reply ends with its client.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"

    async def stop(self) -> None:
        """Stop listening, as a vLLM that went down (`serve_again` brings it back)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def serve_again(self) -> None:
        """Listen again on the same port, as vLLM restarted (with other flags, say)."""
        await self._serve(port=int(self.base_url.rsplit(":", 1)[1].split("/")[0]))

    async def __aexit__(self, *exc_info: object) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        """A 401 reply when an API key is required and missing or wrong."""
        if self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        body = error_body(error_type="invalid_request_error", code="invalid_api_key", message="no")
        return web.json_response(body, status=401)

    async def _models(self, request: web.Request) -> web.Response:
        self.model_listings += 1
        if (refusal := self._unauthorized(request)) is not None:
            return refusal
        # vLLM's /v1/models lists each served model with its `max_model_len` (the context
        # set by --max-model-len); plain OpenAI-compatible servers leave it out.
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
            | ({"max_model_len": self.max_model_len} if self.max_model_len else {})
            for m in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body: Body = await request.json()
        self.requests.append(body)
        self.headers.append(CIMultiDict(request.headers))
        if (refusal := self._unauthorized(request)) is not None:
            return refusal
        if (refused := self._over_limits(body)) is not None:
            return refused
        script = self.script.popleft() if self.script else None
        if isinstance(script, Fail):
            return failure(script)
        if isinstance(script, Hang) and (script.after_chunks is None or not body.get("stream")):
            await self._released.wait()
            return web.Response(status=503)
        reply = script if isinstance(script, Reply) else None
        if reply is not None and reply.pause_s:
            await asyncio.sleep(reply.pause_s)
        chunks = reply.chunks if reply is not None else split_words(self.default_reply(body))
        if not body.get("stream"):
            return web.json_response(completion(body, "".join(chunks)))
        return await self._stream(request, body, chunks, script)

    def _over_limits(self, body: Body) -> web.Response | None:
        """vLLM's refusal when a request breaks one of the limits it was started with."""
        refused = over_limits(body, image_limit=self.image_limit, max_model_len=self.max_model_len)
        if refused is None:
            return None
        self.refusals.append(refused["error"]["param"])
        return web.json_response(refused, status=400)

    async def _tokenize(self, request: web.Request) -> web.Response:
        """vLLM's POST /tokenize for a prompt: its count, the context, the token ids."""
        if not self.tokenizer:
            raise web.HTTPNotFound()
        body: Body = await request.json()
        self.tokenized.append(str(body.get("prompt", "")))
        return web.json_response(tokenize_reply(body, max_model_len=self.max_model_len))

    async def _stream(
        self, request: web.Request, body: Body, chunks: Sequence[str], script: Script | None
    ) -> web.StreamResponse:
        """Send chunks as server-sent events, or as many as the scripted fault allows."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await _send(response, chunk(body, {"role": "assistant", "content": ""}))
        faults = Hang | Drop | StreamError | Malformed
        limit = script.after_chunks if isinstance(script, faults) else None
        for text in chunks[:limit]:
            await _send(response, chunk(body, {"content": text}))
        if isinstance(script, Hang):
            await self._stall(response, script.keepalive_s)
        elif isinstance(script, Drop):
            assert request.transport is not None
            request.transport.close()
            return response
        elif isinstance(script, Malformed):
            await response.write(b'data: {"id": "chatcmpl-fake", "choices": [{"delta": \n\n')
        elif isinstance(script, StreamError):
            err = error_body(error_type=script.error_type, code=script.code, message=script.message)
            await _send(response, err)
        else:
            finish = script.finish_reason if isinstance(script, Reply) else "stop"
            await _send(response, chunk(body, {}, finish_reason=finish))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _stall(self, response: web.StreamResponse, keepalive_s: float | None) -> None:
        """Wait until the server closes, sending keep-alive comments if asked."""
        while keepalive_s is not None and not self._released.is_set():
            await response.write(b": keep-alive\n\n")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), keepalive_s)
        await self._released.wait()


async def _send(response: web.StreamResponse, event: Body) -> None:
    """Write one server-sent event."""
    await response.write(b"data: " + json.dumps(event).encode("utf-8") + b"\n\n")


def failure(script: Fail) -> web.Response:
    """An HTTP error reply; `retry-after-ms` lets tests of the SDK's retries run fast."""
    headers = (
        {} if script.retry_after_ms is None else {"retry-after-ms": str(script.retry_after_ms)}
    )
    body = error_body(
        error_type=script.error_type,
        code=script.code,
        message=script.message,
        param=script.param,
        flat=script.flat,
    )
    return web.json_response(body, status=script.status, headers=headers)


def chunk(body: Body, delta: Body, *, finish_reason: str | None = None) -> Body:
    """A `chat.completion.chunk` event as OpenAI and vLLM send it."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", DEFAULT_MODEL),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def completion(body: Body, text: str) -> Body:
    """A non-streaming `chat.completion` reply."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", DEFAULT_MODEL),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest_asyncio.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAIServer]:
    """A started fake server; `.base_url` ends in /v1, `.requests` holds the bodies."""
    async with FakeOpenAIServer() as server:
        yield server
