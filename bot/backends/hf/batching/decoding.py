"""Turning a lane's steps into streamed text: launch, read back, accept, finish.

Each round a lane's next step is queued before the tokens of the one before are read,
so streaming text and deciding who stops overlap the device's work; a request that
stops is fed once more than it needs and that token is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

import torch

from bot.backends.hf.batching.jobs import END, Item, Job, Outbox
from bot.backends.hf.batching.lanes import InFlight, Lane
from bot.errors import BackendError, BackendOutOfMemory
from bot.logs import event

log = logging.getLogger(__name__)


class Decoder:
    """Steps lanes and hands their text to the outbox (generation thread only)."""

    def __init__(self, *, stop_ids: Collection[int], outbox: Outbox) -> None:
        self._stop = frozenset(stop_ids)
        self._outbox = outbox

    def finish(self, lane: Lane | None, job: Job, item: Item = END) -> None:
        """End a job's stream with `item` (after its last text) and free its row."""
        if lane is not None and job in lane.active:
            lane.remove(job)
        if not job.done:
            tail = job.detok.flush()
            if tail and item is END:
                self._outbox.emit(job, tail)
            self._outbox.emit(job, item)

    def accept(self, lane: Lane, job: Job, token: int) -> None:
        """Record a produced token: stream it, or finish the job."""
        if job.first_token_at is None:
            job.first_token_at = time.monotonic()
        if token in self._stop:
            self.finish(lane, job)
            return
        job.generated += 1
        text = job.detok.push(token)
        if text:
            self._outbox.emit(job, text)
        if job.generated >= job.max_new_tokens or job.cached + 1 >= lane.engine.slot_tokens:
            job.stopped_at_limit = True
            self.finish(lane, job)

    def step(self, lane: Lane) -> None:
        """Queue the lane's next step, then read the tokens of the one before."""
        previous, lane.pending = lane.pending, None
        if lane.active:
            lane.pending = self._launch(lane)
        if previous is not None:
            self._consume(lane, previous)

    def _launch(self, lane: Lane) -> InFlight | None:
        jobs = list(lane.active)
        try:
            return jobs, lane.engine.launch(len(jobs))
        except torch.OutOfMemoryError:
            release_memory()
            keep = max(1, len(jobs) // 2)
            lane.limit = keep
            event(log, "decode_oom_shrink", level=logging.WARNING, batch=len(jobs), limit=keep)
            for job in jobs[keep:]:
                self.finish(lane, job, BackendOutOfMemory("decode step"))
        except Exception as exc:
            event(log, "decode_failed", level=logging.ERROR, exc_info=True, batch=len(jobs))
            for job in jobs:
                self.finish(lane, job, BackendError(f"decode failed: {type(exc).__name__}"))
        return None

    def _consume(self, lane: Lane, flight: InFlight) -> None:
        jobs, pending = flight
        try:
            tokens = pending.result()
        except Exception as exc:
            event(log, "decode_failed", level=logging.ERROR, exc_info=True, batch=len(jobs))
            for job in jobs:
                self.finish(lane, job, BackendError(f"decode failed: {type(exc).__name__}"))
            return
        for job, token in zip(jobs, tokens, strict=True):
            if job.done or job not in lane.active:  # stopped or cancelled since the launch
                continue
            job.cached += 1
            self.accept(lane, job, token)


def release_memory() -> None:
    """Give cached blocks back after an out-of-memory error (CUDA only)."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
