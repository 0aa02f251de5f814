"""Decoding processes and a fair line in front of them: every decode bounded and stoppable.

Decoders that hold the GIL (openjpeg, imagecodecs) cannot be interrupted in a thread, so
files are decoded in a few processes the pool starts on demand (`DecodeBudget.workers`),
each under an address-space limit. A file that runs past its time is killed with its
process, and so is the file of a question that was deleted; a fresh process replaces it.

Each question holds a `Ticket`: its place in line and what it may still spend (seconds
of decoding, decoded pixels). Free processes go to the question with the fewest files
decoding, then to the one served longest ago. When a question has nothing decoding and
waits while another holds two processes or more, the newest of the other's files (once
it has run `PREEMPT_AFTER_S`) is stopped and put back at the head of its line, unbilled:
one person's frame bomb cannot keep a bystander's photo waiting for more than a moment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.errors import DecodeBudgetExceeded, ImagingError
from bot.imaging.budget import DecodeBudget
from bot.imaging.types import DecodedFile, ImagingOptions
from bot.pipeline.decoding import processes
from bot.pipeline.decoding.jobs import Job, Ticket
from bot.pipeline.decoding.processes import (
    BOOT_TIMEOUT_S,
    WORKER_COMMAND,
    DecodeProcess,
    Outcome,
    WorkerBroken,
    WorkerGone,
)

PREEMPT_AFTER_S = 1.0  # a file runs at least this long before another question may stop it


class DecodePool:
    """Decodes files in worker processes, fairly between questions, within their budgets."""

    def __init__(self, *, budget: DecodeBudget, command: Sequence[str] = WORKER_COMMAND) -> None:
        self._budget = budget
        self._command = tuple(command)
        # Read once, at start-up, like every setting.
        self._environment = processes.worker_environment(os.environ)
        self._idle: list[DecodeProcess] = []
        self._running: dict[DecodeProcess, Job] = {}
        self._retired: set[DecodeProcess] = set()  # killed, being reaped
        self._lines: list[Ticket] = []  # tickets with files waiting
        # Exchanges block on a pipe; retired processes are reaped here too.
        self._threads = ThreadPoolExecutor(2 * budget.workers + 2, thread_name_prefix="decode")
        self._tasks: set[asyncio.Future[None]] = set()
        self._recheck: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def decoding(self) -> int:
        """Files being decoded now."""
        return len(self._running)

    @property
    def pids(self) -> list[int]:
        """The decoding processes now started (for memory figures and tests)."""
        return [p.pid for p in (*self._idle, *self._running)]

    async def decode(self, data: bytes, *, options: ImagingOptions, ticket: Ticket) -> DecodedFile:
        """Decode one file for the question holding `ticket`, within its budget."""
        job = Job(data, options, ticket, asyncio.get_running_loop().create_future())
        self._enqueue(job)
        try:
            decoded, _ = await job.future
        except asyncio.CancelledError:
            self._abandon(job)
            raise
        if isinstance(decoded, ImagingError):
            raise decoded
        return decoded

    def close(self) -> None:
        """Kill every process and drop the line (the bot is stopping)."""
        self._closed = True
        for ticket in self._lines:
            for job in ticket.waiting:
                _cancel(job.future)
        self._lines.clear()
        for task in self._tasks:
            _cancel(task)
        for process in [*self._idle, *self._running, *self._retired]:
            process.reap()  # again for a retired one: its reap may not have run
        self._idle.clear()
        if self._recheck is not None:
            self._recheck.cancel()
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _enqueue(self, job: Job, *, first: bool = False) -> None:
        """Put a job in its question's line (at the head when it was stopped for another)."""
        if first:
            job.ticket.waiting.appendleft(job)
        else:
            job.ticket.waiting.append(job)
        if job.ticket not in self._lines:
            self._lines.append(job.ticket)
        self._dispatch()

    def _abandon(self, job: Job) -> None:
        """The question no longer wants this file: out of line, or its process killed."""
        if job in job.ticket.waiting:
            job.ticket.waiting.remove(job)
            if not job.ticket.waiting and job.ticket in self._lines:
                self._lines.remove(job.ticket)
        for process, running in self._running.items():
            if running is job:
                process.kill()  # _drive sees the process gone and replaces it

    def _dispatch(self) -> None:
        """Give free (or new) processes to the waiting questions, fairest first."""
        if self._closed:
            return
        self._refuse_spent()
        while startable := [ticket for ticket in self._lines if not ticket.spent]:
            process = self._free_process()
            if process is None:
                self._preempt(startable)
                return
            ticket = min(startable, key=lambda t: (t.running, t.served))
            self._begin(process, self._next(ticket))

    def _refuse_spent(self) -> None:
        """Refuse the waiting files of questions with nothing left and nothing to give back.

        A question whose files are still decoding waits: what they do not use returns.
        """
        for ticket in [t for t in self._lines if t.spent and t.running == 0]:
            while ticket.waiting:
                refused = self._next(ticket).future
                if not refused.done():
                    refused.set_exception(
                        DecodeBudgetExceeded(detail="the question's decoding budget is spent")
                    )

    def _next(self, ticket: Ticket) -> Job:
        """The head of a question's line, taken out of it."""
        job = ticket.waiting.popleft()
        if not ticket.waiting:
            self._lines.remove(ticket)
        return job

    def _free_process(self) -> DecodeProcess | None:
        """An idle process, or a new one while fewer than `workers` are started."""
        if self._idle:
            return self._idle.pop()
        if len(self._running) < self._budget.workers:
            return DecodeProcess(
                memory_bytes=self._budget.worker_memory,
                command=self._command,
                environment=self._environment,
            )
        return None

    def _begin(self, process: DecodeProcess, job: Job) -> None:
        """Start a job: take its share of the ticket, and drive it in a tracked task."""
        loop = asyncio.get_running_loop()
        ticket = job.ticket
        job.pixels = min(job.options.budget.file_pixels, ticket.pixels_left)
        job.seconds = min(self._budget.file_seconds, ticket.seconds_left)
        ticket.pixels_left -= job.pixels
        ticket.seconds_left -= job.seconds
        ticket.running += 1
        ticket.served = loop.time()
        self._running[process] = job
        task = loop.create_task(self._drive(process, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drive(self, process: DecodeProcess, job: Job) -> None:
        """Run one job on one process to its end, then settle it and serve the line."""
        loop = asyncio.get_running_loop()
        try:
            outcome = await self._run(process, job)
        except asyncio.CancelledError:  # close(): the bot is stopping
            self._retire(process)
            _cancel(job.future)
            raise
        self._charge(job, outcome, now=loop.time())
        if outcome is None:  # stopped for another question: back to the head of its line
            if not job.future.done():
                self._enqueue(job, first=True)
        elif isinstance(outcome, BaseException):
            if not job.future.done():
                job.future.set_exception(outcome)
        elif not job.future.done():
            job.future.set_result(outcome)
        self._dispatch()

    async def _run(self, process: DecodeProcess, job: Job) -> Outcome | Exception | None:
        """The outcome; the error the job ends with; None when it was stopped for another."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(BOOT_TIMEOUT_S):
                await loop.run_in_executor(self._threads, process.wait_ready)
        except (TimeoutError, WorkerGone, WorkerBroken):
            self._retire(process)
            # Not the file's doing: a broken install, or MEDGEMMA_DECODE_MEMORY_MB too low.
            return WorkerBroken("a decoding process did not start")
        job.started = loop.time()
        options = dataclasses.replace(
            job.options, budget=dataclasses.replace(job.options.budget, file_pixels=job.pixels)
        )
        try:
            async with asyncio.timeout(job.seconds):
                outcome = await loop.run_in_executor(
                    self._threads, functools.partial(process.exchange, job.data, options=options)
                )
        except TimeoutError:
            self._retire(process)
            return DecodeBudgetExceeded(detail="decoding ran past its time")
        except WorkerGone:
            self._retire(process)
            if job.preempted:
                return None
            return DecodeBudgetExceeded(detail="the decoding process ended (memory or a crash)")
        except Exception as exc:  # WorkerBroken, or a bug: the caller must not wait forever
            self._retire(process)
            return exc
        self._running.pop(process, None)
        self._idle.append(process)
        return outcome

    def _charge(self, job: Job, outcome: Outcome | Exception | None, *, now: float) -> None:
        """Give back what the file did not use: all of it when it was stopped for another."""
        ticket = job.ticket
        ticket.running -= 1
        used = 0.0 if job.started is None or job.preempted else now - job.started
        ticket.seconds_left += max(0.0, job.seconds - used)
        if job.preempted:
            ticket.pixels_left += job.pixels
        elif isinstance(outcome, tuple):
            ticket.pixels_left += max(0, job.pixels - outcome[1])
        job.started, job.preempted = None, False

    def _retire(self, process: DecodeProcess) -> None:
        """Kill a process and reap it in the background; a new one starts when needed."""
        self._running.pop(process, None)
        process.kill()
        self._retired.add(process)
        if self._closed:
            return  # close() reaps what it kills
        reaping = asyncio.get_running_loop().run_in_executor(self._threads, process.reap)
        self._tasks.add(reaping)
        reaping.add_done_callback(lambda _: self._retired.discard(process))
        reaping.add_done_callback(self._tasks.discard)

    def _preempt(self, startable: list[Ticket]) -> None:
        """Stop a file of a question holding two processes or more, for one holding none."""
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None
        if not any(ticket.running == 0 for ticket in startable):
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        # A file still waiting for its process to start counts as starting now.
        hogs = [
            (now if job.started is None else job.started, process, job)
            for process, job in self._running.items()
            if job.ticket.running >= 2 and not job.preempted
        ]
        ripe = [hog for hog in hogs if now >= hog[0] + PREEMPT_AFTER_S]
        if ripe:
            _, process, job = max(ripe, key=lambda hog: hog[0])
            job.preempted = True
            process.kill()  # _drive puts the job back at the head of its line
        elif hogs:
            first = min(hog[0] for hog in hogs)
            self._recheck = loop.call_at(first + PREEMPT_AFTER_S, self._dispatch)


def _cancel(future: asyncio.Future[Any]) -> None:
    """Cancel a future of a loop that may already be closed."""
    if not future.done() and not future.get_loop().is_closed():
        future.cancel()
