"""A scripted model backend that records what it was asked (no model, no network)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from bot.backends.base import (
    Capabilities,
    FinishReason,
    GenerationRequest,
    estimate_text_tokens,
)
from bot.prompts import load_prompts
from bot.settings import DEFAULT_PROMPTS


def digest(text: str) -> str:
    """A short fingerprint of a question, so an answer can be traced to it."""
    return hashlib.sha256(text.encode()).hexdigest()[:10]


# MedGemma 1.5's default profile starts the question's text with the bot's safety line.
SAFETY_LINE = load_prompts(DEFAULT_PROMPTS).abilities.safety + "\n\n"


def question_of(text: str) -> str:
    """A user turn's text as the asker wrote it: the bot's safety line before it removed."""
    return text.removeprefix(SAFETY_LINE)


def echo_answer(request: GenerationRequest) -> str:
    """The default answer: names the question it answers and how many images it saw."""
    question = question_of(request.messages[-1].text)
    images = sum(len(m.images) for m in request.messages)
    return f"Findings for {digest(question)}: {images} image(s) reviewed."


@dataclass
class Step:
    """One scripted behaviour for the next request."""

    chunks: list[str] | None = None
    error: BaseException | None = None
    hang: bool = False
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0  # between chunks, as a model generates
    hang_after: int | None = None  # hang after this many chunks
    error_after: int | None = None  # raise `error` after this many chunks
    finish: FinishReason = "stop"  # why the answer ended: "length" when cut at the limit


@dataclass
class FakeBackend:
    """Answers from a script (or `echo_answer`), records every request."""

    capabilities: Capabilities = field(default_factory=lambda: Capabilities(context_tokens=32_768))
    name: str = "fake"
    requests: list[GenerationRequest] = field(default_factory=list)
    answer: Callable[[GenerationRequest], str] = echo_answer
    started: bool = False
    closed: bool = False
    cancelled: int = 0
    _script: deque[Step] = field(default_factory=deque)

    def then(self, step: Step) -> FakeBackend:
        """Queue a behaviour for the next request."""
        self._script.append(step)
        return self

    async def start(self) -> None:
        self.started = True

    async def aclose(self) -> None:
        self.closed = True

    def count_text_tokens(self, text: str) -> int:
        return estimate_text_tokens(text)

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        self.requests.append(request)
        step = self._script.popleft() if self._script else Step()
        if request.on_queue_position is not None:
            request.on_queue_position(0)
        try:
            if step.delay_s:
                await asyncio.sleep(step.delay_s)
            if step.hang:
                await asyncio.Event().wait()
            if step.error is not None and step.error_after is None:
                raise step.error
            text = step.chunks if step.chunks is not None else [self.answer(request)]
            for n, chunk in enumerate(text):
                if n == step.hang_after:
                    await asyncio.Event().wait()
                if n == step.error_after and step.error is not None:
                    raise step.error
                await asyncio.sleep(step.chunk_delay_s)
                yield chunk
            if request.on_finish is not None:
                request.on_finish(step.finish)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
