"""The generation thread both in-process engines share: a bounded queue, calls, stopping.

Requests wait in a bounded FIFO; `submit` is called from the event loop, everything
else that touches the model runs in this one thread (`call` runs model work between two
steps). What the thread does with waiting requests is the subclass's: the scheduler
batches continuously (`scheduler.py`), the static-cache path runs one `generate()` per
batch (`batches.py`).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import Future
from typing import Any

from bot.backends.base import QueueCallback
from bot.backends.hf.batching.detok import IncrementalDetokenizer
from bot.backends.hf.batching.jobs import Job, Outbox, Ticket
from bot.backends.hf.prompt import PreparedPrompt
from bot.errors import BackendError, BackendUnavailable, Busy


class GenerationThread:
    """Owns the generation thread and its queue; subclasses serve the queue in `_run`."""

    def __init__(
        self,
        *,
        tokenizer: Any,
        stop_ids: Collection[int],
        hidden_ids: Collection[int],
        max_waiting: int,
    ) -> None:
        self._tokenizer = tokenizer
        self._hidden = frozenset(hidden_ids) | frozenset(stop_ids)
        self._max_waiting = max_waiting
        self._waiting: deque[Job] = deque()
        self._calls: deque[tuple[Callable[[], Any], Future[Any]]] = deque()
        self._outbox = Outbox()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="medgemma-generate", daemon=True)
        # Set once the thread has compiled (True), decided not to or failed to (False).
        self.ready: Future[bool] = Future()

    # -- event-loop side ----------------------------------------------------------------

    def start(self) -> None:
        """Start the generation thread (it may compile first; await `ready`)."""
        self._thread.start()

    def submit(
        self,
        prompt: PreparedPrompt,
        *,
        max_new_tokens: int,
        on_position: QueueCallback | None = None,
    ) -> Ticket:
        """Queue a prompt; raise Busy when the queue is full."""
        job = Job(
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            detok=IncrementalDetokenizer(self._tokenizer, hidden=self._hidden),
            loop=asyncio.get_running_loop(),
            on_position=on_position,
        )
        if not self._can_serve(job):
            raise BackendError("request longer than a batch row", tokens=prompt.length)
        with self._wake:
            if self._stopping:
                raise BackendUnavailable("scheduler stopped")
            if len(self._waiting) >= self._max_waiting:
                raise Busy("generation queue full", waiting=len(self._waiting))
            self._waiting.append(job)
            self._wake.notify_all()
        return Ticket(job, self._wake)

    def call(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run `fn` in the generation thread between two steps (model work, checks)."""
        future: Future[Any] = Future()
        with self._wake:
            self._calls.append((fn, future))
            self._wake.notify_all()
        return future

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread; unfinished jobs end with BackendUnavailable."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def waiting(self) -> int:
        """Requests waiting for a row."""
        return len(self._waiting)

    # -- generation thread --------------------------------------------------------------

    def _can_serve(self, job: Job) -> bool:
        return True

    def _run(self) -> None:
        raise NotImplementedError

    def _run_calls(self) -> None:
        with self._wake:
            calls, self._calls = list(self._calls), deque()
        for fn, future in calls:
            try:
                future.set_result(fn())
            except Exception as exc:
                future.set_exception(exc)

    def _retire_cancelled_waiting(self) -> None:
        with self._wake:
            for job in [j for j in self._waiting if j.cancelled.is_set()]:
                self._waiting.remove(job)
                job.done = True

    def _report_places(self) -> None:
        with self._wake:
            for place, job in enumerate(self._waiting, start=1):
                self._outbox.report(job, place)

    def _drain_waiting(self) -> list[Job]:
        with self._wake:
            waiting, self._waiting = list(self._waiting), deque()
        return waiting
