"""One generation request as the scheduler thread and the event loop both see it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bot.backends.base import QueueCallback
from bot.backends.hf.detok import IncrementalDetokenizer
from bot.backends.hf.prompt import PreparedPrompt


class _End:
    """Marks the end of a job's stream."""


END = _End()


@dataclass(eq=False)
class Job:
    """A request in the scheduler: its prompt, its stream back, its decoding state."""

    prompt: PreparedPrompt
    max_new_tokens: int
    detok: IncrementalDetokenizer
    loop: asyncio.AbstractEventLoop
    on_position: QueueCallback | None = None
    out: asyncio.Queue[str | BaseException | _End] = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    # Decoding state, touched only by the scheduler thread.
    generated: int = 0  # tokens produced so far
    cached: int = 0  # tokens in the KV cache (prompt + fed tokens)
    next_token: int = -1  # produced but not yet fed back
    reported: int | None = None  # last place in line sent to on_position
    done: bool = False
    # Timings (monotonic seconds) for logs and `bench`.
    submitted_at: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    finished_at: float | None = None

    # -- called from the scheduler thread ------------------------------------------------

    def emit(self, item: str | BaseException | _End) -> None:
        """Hand text, an error or the end marker to the event loop."""
        if item is END or isinstance(item, BaseException):
            self.done = True
            self.finished_at = time.monotonic()
        try:
            self.loop.call_soon_threadsafe(self.out.put_nowait, item)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            pass

    def report(self, place: int) -> None:
        """Tell the requester where it stands (1: next; 0: running), once per change."""
        if self.on_position is None or self.reported == place:
            return
        self.reported = place
        try:
            self.loop.call_soon_threadsafe(self.on_position, place)
        except RuntimeError:
            pass


class Ticket:
    """The event-loop side of a job: an async iterator of text that cancels on close."""

    def __init__(self, job: Job, wake: threading.Condition) -> None:
        self._job = job
        self._wake = wake

    @property
    def job(self) -> Job:
        """The job's state (timings and token count once it has finished)."""
        return self._job

    async def stream(self) -> AsyncIterator[str]:
        """The answer's text as it is produced; errors arrive as exceptions."""
        try:
            while True:
                item = await self._job.out.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop the job if it is still waiting or running (the thread frees its row)."""
        if self._job.done:
            return
        self._job.cancelled.set()
        with self._wake:
            self._wake.notify_all()
