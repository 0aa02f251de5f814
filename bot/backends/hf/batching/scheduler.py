"""Continuous batching in one generation thread.

Requests wait in a bounded FIFO (`thread.py`). Between two decoding steps, waiting requests that fit
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

import logging
import time
from collections.abc import Callable, Collection
from typing import Any

import torch

from bot.backends.hf.batching.decoding import Decoder, release_memory
from bot.backends.hf.batching.engine import Engine
from bot.backends.hf.batching.jobs import Job
from bot.backends.hf.batching.lanes import Lane
from bot.backends.hf.batching.thread import GenerationThread
from bot.errors import BackendError, BackendOutOfMemory, BackendUnavailable
from bot.logs import event

log = logging.getLogger(__name__)


class Scheduler(GenerationThread):
    """Continuous batching over the engine's slot cache; `submit` from the event loop."""

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
        super().__init__(
            tokenizer=tokenizer, stop_ids=stop_ids, hidden_ids=hidden_ids, max_waiting=max_waiting
        )
        self._main = Lane(engine)
        self._long: Lane | None = None
        self._make_long = long_lane
        self._prefill_tokens = prefill_tokens
        self._compile = compile_steps
        self._progress = progress
        self._decoder = Decoder(stop_ids=stop_ids, outbox=self._outbox)

    def _can_serve(self, job: Job) -> bool:
        return self._main.fits(job) or self._make_long is not None

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

    def _retire_cancelled(self) -> None:
        self._retire_cancelled_waiting()
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

    def _fail_all(self, error: BackendError) -> None:
        for job in self._drain_waiting():
            self._decoder.finish(None, job, error)
        for lane in self._lanes():
            for job in list(lane.active):
                self._decoder.finish(lane, job, error)
