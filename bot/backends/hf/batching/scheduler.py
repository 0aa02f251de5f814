"""Continuous batching in one generation thread.

Requests wait in a bounded FIFO. Between two decoding steps, waiting requests that fit
are prefilled (in batches of up to `prefill_tokens` prompt tokens) into free rows of a
lane and join the running batch; a request that stops (end of turn, token limit,
cancellation) leaves and its row is reused. The main lane holds `rows` requests of up
to `slot_tokens` tokens each; a request longer than that (a CT series, a long thread)
runs in a one-row long lane built for its length, stepping alongside the main batch.
Out-of-memory errors shrink the batch and fail only the requests that cannot be served.

The thread is also where the decoding step is compiled and its CUDA graphs recorded
(before it serves: see `compiled.py`), and where anything else that runs the model is
done (`call`). How a lane's steps become streamed text is in `decoding.py`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import Future
from typing import Any

import torch

from bot.backends.base import QueueCallback
from bot.backends.hf.batching.decoding import Decoder, release_memory
from bot.backends.hf.batching.detok import IncrementalDetokenizer
from bot.backends.hf.batching.engine import Engine
from bot.backends.hf.batching.jobs import Job, Outbox, Ticket
from bot.backends.hf.batching.lanes import Lane
from bot.backends.hf.prompt import PreparedPrompt
from bot.errors import BackendError, BackendOutOfMemory, BackendUnavailable, Busy
from bot.logs import event

log = logging.getLogger(__name__)


class Scheduler:
    """Owns the generation thread; `submit` is called from the event loop."""

    def __init__(
        self,
        *,
        engine: Engine,
        tokenizer: Any,
        stop_ids: Collection[int],
        hidden_ids: Collection[int],
        max_waiting: int,
        prefill_tokens: int,
        long_lane: Callable[[int], Engine] | None = None,
        compile_steps: bool = False,
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._main = Lane(engine)
        self._long: Lane | None = None
        self._make_long = long_lane
        self._tokenizer = tokenizer
        self._hidden = frozenset(hidden_ids) | frozenset(stop_ids)
        self._max_waiting = max_waiting
        self._prefill_tokens = prefill_tokens
        self._compile = compile_steps
        self._progress = progress
        self._waiting: deque[Job] = deque()
        self._calls: deque[tuple[Callable[[], Any], Future[Any]]] = deque()
        self._outbox = Outbox()
        self._decoder = Decoder(stop_ids=stop_ids, outbox=self._outbox)
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="medgemma-generate", daemon=True)
        # Set once the thread has compiled (True), decided not to or failed to (False).
        self.ready: Future[bool] = Future()

    # -- event-loop side ----------------------------------------------------------------

    def start(self) -> None:
        """Start the generation thread (it compiles first; await `ready`)."""
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
        if not self._main.fits(job) and self._make_long is None:
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

    def _lanes(self) -> list[Lane]:
        return [lane for lane in (self._main, self._long) if lane is not None]

    def _run(self) -> None:
        try:
            self.ready.set_result(
                self._compile and self._main.engine.compile(progress=self._progress)
            )
        except BaseException as exc:  # start() must hear of it rather than wait forever
            self.ready.set_exception(exc)
            return
        while True:
            with self._wake:
                while not (self._stopping or self._waiting or self._calls or self._busy()):
                    self._wake.wait()
                if self._stopping:
                    break
            self._run_calls()
            self._retire_cancelled()
            self._admit()
            self._report_places()
            stepped = False
            for lane in self._lanes():
                stepped |= bool(lane.active)
                self._decoder.step(lane)
            self._outbox.flush()  # one wake-up of the event loop per round
            if not stepped:  # only jobs that cannot start yet: do not spin
                with self._wake:
                    self._wake.wait(0.05)
        self._fail_all(BackendUnavailable("scheduler stopped"))
        self._outbox.flush()

    def _busy(self) -> bool:
        return any(lane.active or lane.pending for lane in self._lanes())

    def _run_calls(self) -> None:
        with self._wake:
            calls, self._calls = list(self._calls), deque()
        for fn, future in calls:
            try:
                future.set_result(fn())
            except Exception as exc:
                future.set_exception(exc)

    def _retire_cancelled(self) -> None:
        with self._wake:
            for job in [j for j in self._waiting if j.cancelled.is_set()]:
                self._waiting.remove(job)
                job.done = True
        for lane in self._lanes():
            for job in [j for j in lane.active if j.cancelled.is_set()]:
                lane.remove(job)
                job.done = True
        if self._long is not None and not self._long.active:
            self._long = None  # free the long lane's memory (its last step was for no one)

    def _take(self) -> tuple[list[Job], Job | None]:
        """Waiting jobs that can start now: a group for the main lane, maybe one long."""
        group: list[Job] = []
        long_job: Job | None = None
        budget = self._prefill_tokens
        with self._wake:
            for job in list(self._waiting):
                if self._main.fits(job):
                    if len(group) < self._main.free and (not group or job.prompt.length <= budget):
                        group.append(job)
                        budget -= job.prompt.length
                elif long_job is None and self._long is None and self._make_long is not None:
                    long_job = job
            for job in (*group, *([long_job] if long_job else [])):
                self._waiting.remove(job)
        return group, long_job

    def _admit(self) -> None:
        group, long_job = self._take()
        if group:
            self._prefill(self._main, group)
        if long_job is not None and self._make_long is not None:
            try:
                self._long = Lane(self._make_long(long_job.prompt.length + long_job.max_new_tokens))
            except torch.OutOfMemoryError:
                self._decoder.finish(None, long_job, BackendOutOfMemory("long lane allocation"))
                return
            self._prefill(self._long, [long_job])

    def _prefill(self, lane: Lane, jobs: list[Job]) -> None:
        started = time.monotonic()
        rows = list(range(len(lane.active), len(lane.active) + len(jobs)))
        try:
            firsts = lane.engine.prefill([j.prompt for j in jobs], rows)
        except torch.OutOfMemoryError:
            release_memory()
            if len(jobs) == 1:
                self._decoder.finish(None, jobs[0], BackendOutOfMemory("prefill of one request"))
                return
            half = len(jobs) // 2
            event(log, "prefill_oom_split", level=logging.WARNING, batch=len(jobs))
            self._prefill(lane, jobs[:half])
            self._prefill(lane, jobs[half:])
            return
        except Exception as exc:
            event(log, "prefill_failed", level=logging.ERROR, exc_info=True, batch=len(jobs))
            for job in jobs:
                self._decoder.finish(
                    None, job, BackendError(f"prefill failed: {type(exc).__name__}")
                )
            return
        event(
            log,
            "prefill",
            batch=len(jobs),
            tokens=sum(j.prompt.length for j in jobs),
            seconds=round(time.monotonic() - started, 4),
        )
        for job in jobs:  # all rows first: finishing one moves rows around
            job.cached = job.prompt.length
            lane.active.append(job)
            self._outbox.report(job, 0)
        for job, first in zip(jobs, firsts, strict=True):
            self._decoder.accept(lane, job, first)

    def _report_places(self) -> None:
        with self._wake:
            for place, job in enumerate(self._waiting, start=1):
                self._outbox.report(job, place)

    def _fail_all(self, error: BackendError) -> None:
        with self._wake:
            waiting, self._waiting = list(self._waiting), deque()
        for job in waiting:
            self._decoder.finish(None, job, error)
        for lane in self._lanes():
            for job in list(lane.active):
                self._decoder.finish(lane, job, error)
