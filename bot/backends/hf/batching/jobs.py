"""One generation request as the scheduler thread and the event loop both see it."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from bot.backends.base import QueueCallback
from bot.backends.hf.batching.detok import IncrementalDetokenizer
from bot.backends.hf.prompt import PreparedPrompt

log = logging.getLogger(__name__)


class _End:
    """Marks the end of a job's stream."""


END = _End()
Item = str | BaseException | _End


@dataclass(eq=False)
class Job:
    """A request in the scheduler: its prompt, its stream back, its decoding state."""

    prompt: PreparedPrompt
    max_new_tokens: int
    detok: IncrementalDetokenizer
    loop: asyncio.AbstractEventLoop
    on_position: QueueCallback | None = None
    out: asyncio.Queue[Item] = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    # Decoding state, touched only by the scheduler thread.
    generated: int = 0  # tokens produced so far
    cached: int = 0  # tokens in the KV cache (prompt + fed tokens)
    reported: int | None = None  # last place in line sent to on_position
    done: bool = False
    stopped_at_limit: bool = False  # ended by max_new_tokens or the row's size, unfinished
    # Timings (monotonic seconds) for logs and `bench`.
    submitted_at: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    finished_at: float | None = None


class Outbox:
    """What the scheduler thread hands to event loops, sent in one wake-up per step.

    `call_soon_threadsafe` wakes the loop each time it is called; one call per row and
    token would wake it 32 times a step at full batch.
    """

    def __init__(self) -> None:
        self._calls: dict[asyncio.AbstractEventLoop, list[Callable[[], None]]] = {}

    def emit(self, job: Job, item: Item) -> None:
        """Queue text, an error or the end marker for the job's stream."""
        if item is END or isinstance(item, BaseException):
            job.done = True
            job.finished_at = time.monotonic()
        self._calls.setdefault(job.loop, []).append(lambda: job.out.put_nowait(item))

    def report(self, job: Job, place: int) -> None:
        """Queue the job's place in line (1: next; 0: running), once per change."""
        callback = job.on_position
        if callback is None or job.reported == place:
            return
        job.reported = place
        self._calls.setdefault(job.loop, []).append(lambda: callback(place))

    def flush(self) -> None:
        """Hand everything queued to its event loop."""
        calls, self._calls = self._calls, {}
        for loop, batch in calls.items():
            try:
                loop.call_soon_threadsafe(_deliver, batch)
            except RuntimeError:  # the loop has closed: nobody is listening any more
                pass


def _deliver(calls: list[Callable[[], None]]) -> None:
    """Run the queued calls on the event loop; one failing callback spoils no other."""
    for call in calls:
        try:
            call()
        except Exception:
            log.error("stream_delivery_failed", exc_info=True)


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
