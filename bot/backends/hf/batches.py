"""Serving through the library path (MEDGEMMA_ENGINE=generate): a `generate()` per batch.

The requests waiting when a batch starts (up to `max_batch`, their prompts within
`prefill_tokens` together, or one longer prompt alone) run as one static-cache
`generate()` (`static_generate.py`); requests that arrive meanwhile wait for the next
batch. Answers stream token by token, a request whose reader goes away stops its row,
and out-of-memory errors split the batch, as in the scheduler. Decoding compiles (on a
GPU) during the first batch of each size, not at start-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import Any

import torch

from bot.backends.hf.batching.decoding import release_memory
from bot.backends.hf.batching.jobs import END, Item, Job
from bot.backends.hf.batching.thread import GenerationThread
from bot.backends.hf.static_generate import StaticBatch, generate, pad_batch
from bot.errors import BackendError, BackendOutOfMemory, BackendUnavailable
from bot.logs import event

log = logging.getLogger(__name__)

# A batch decodes up to its longest answer's limit, rounded up to this: fewer cache shapes.
NEW_TOKENS_BUCKET = 256


class BatchScheduler(GenerationThread):
    """Static batching with `model.generate()`; `submit` from the event loop."""

    def __init__(
        self,
        *,
        model: Any,
        tokenizer: Any,
        stop_ids: Collection[int],
        hidden_ids: Collection[int],
        max_waiting: int,
        max_batch: int,
        prefill_tokens: int,
        pad_id: int,
        compile_steps: bool,
        ignore_eos: bool = False,
    ) -> None:
        super().__init__(
            tokenizer=tokenizer, stop_ids=stop_ids, hidden_ids=hidden_ids, max_waiting=max_waiting
        )
        self.model = model
        self._stop = frozenset(stop_ids)
        self._max_batch = max_batch
        self._prefill_tokens = prefill_tokens
        self._pad_id = pad_id
        self._compile = compile_steps
        self._ignore_eos = ignore_eos

    def _run(self) -> None:
        self.ready.set_result(self._compile)  # transformers compiles in the first batch
        while True:
            with self._wake:
                while not (self._stopping or self._waiting or self._calls):
                    self._wake.wait()
                if self._stopping:
                    break
            self._run_calls()
            self._retire_cancelled_waiting()
            jobs = self._take()
            self._report_places()
            if jobs:
                self._serve(jobs)
            self._outbox.flush()
        for job in self._drain_waiting():
            self._finish(job, BackendUnavailable("scheduler stopped"))
        self._outbox.flush()

    def _take(self) -> list[Job]:
        """The next batch: waiting jobs in order, within the batch and prefill limits."""
        group: list[Job] = []
        budget = self._prefill_tokens
        with self._wake:
            for job in list(self._waiting):
                if len(group) >= self._max_batch:
                    break
                if group and job.prompt.length > budget:
                    continue
                group.append(job)
                budget -= job.prompt.length
            for job in group:
                self._waiting.remove(job)
        return group

    def _serve(self, jobs: list[Job]) -> None:
        for job in jobs:
            job.cached = job.prompt.length
            self._outbox.report(job, 0)
        self._outbox.flush()
        try:
            self._generate(jobs)
        except torch.OutOfMemoryError:
            release_memory()
            if len(jobs) == 1:
                self._finish(jobs[0], BackendOutOfMemory("generate() of one request"))
                return
            event(log, "generate_oom_split", level=logging.WARNING, batch=len(jobs))
            for job in [j for j in jobs if j.first_token_at is not None]:
                # Its text has begun streaming: running it again would repeat it.
                self._finish(job, BackendOutOfMemory("generate() batch"))
            rest = [j for j in jobs if not j.done]
            half = len(rest) // 2
            for part in (rest[:half], rest[half:]):
                if part:
                    self._serve(part)
            return
        except Exception as exc:
            event(log, "generate_failed", level=logging.ERROR, exc_info=True, batch=len(jobs))
            for job in jobs:
                self._finish(job, BackendError(f"generate failed: {type(exc).__name__}"))
            return
        for job in jobs:
            self._finish(job)

    def _generate(self, jobs: list[Job]) -> None:
        embeddings = self.model.get_input_embeddings().weight
        batch: StaticBatch = pad_batch(
            [j.prompt for j in jobs],
            pad_id=self._pad_id,
            limit=self._max_batch,
            device=embeddings.device,
            dtype=embeddings.dtype,
        )
        longest = max(j.max_new_tokens for j in jobs)
        budget = -(-longest // NEW_TOKENS_BUCKET) * NEW_TOKENS_BUCKET

        def on_step(tokens: list[int]) -> None:
            for job, token in zip(jobs, tokens, strict=False):  # filler rows come last
                if not job.done and not job.cancelled.is_set():
                    self._accept(job, token)
            self._outbox.flush()

        def stopped(row: int, generated: int) -> bool:
            return row >= len(jobs) or jobs[row].done or jobs[row].cancelled.is_set()

        started = time.monotonic()
        generate(
            self.model,
            batch,
            max_new_tokens=budget,
            on_step=on_step,
            stopped=stopped,
            compile=self._compile,
            ignore_eos=self._ignore_eos,
        )
        # The shapes it ran at: a new (rows, width, budget) can mean a recompile on a GPU.
        event(
            log,
            "generate_batch",
            batch=len(jobs),
            rows=batch.rows,
            width=batch.width,
            budget=budget,
            seconds=round(time.monotonic() - started, 3),
        )

    def _accept(self, job: Job, token: int) -> None:
        """Record a produced token: stream it, or finish the job."""
        if job.first_token_at is None:
            job.first_token_at = time.monotonic()
        if token in self._stop:
            self._finish(job)
            return
        job.generated += 1
        job.cached += 1
        if text := job.detok.push(token):
            self._outbox.emit(job, text)
        if job.generated >= job.max_new_tokens:
            job.stopped_at_limit = True  # the answer was cut (on_finish hears "length")
            self._finish(job)

    def _finish(self, job: Job, item: Item = END) -> None:
        """End a job's stream with `item` after its last text (once)."""
        if job.done:
            return
        if job.cancelled.is_set():  # nobody listens any more
            job.done = True
            return
        tail = job.detok.flush()
        if tail and item is END:
            self._outbox.emit(job, tail)
        self._outbox.emit(job, item)
