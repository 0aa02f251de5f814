"""State for one process: in memory, with questions in progress kept in a small file.

The file (MEDGEMMA_STATE_FILE) holds ids only: the questions being answered and the
most recent threads the bot is part of, so that a process killed mid-answer is
followed by one that finishes its questions, and keeps answering follow-ups in its
threads. It is written atomically, in a worker thread, whenever a question starts or
ends. One file belongs to one process; replicas share state through Redis instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from cachetools import LRUCache, TLRUCache

from bot.logs import event
from bot.state.base import CancelHandler, Question, new_replica_id

log = logging.getLogger(__name__)

MAX_CLAIMS = 100_000
MAX_THREADS = 50_000
THREADS_IN_FILE = 5_000  # the most recent; enough for the follow-ups that matter
FILE_VERSION = 1


def _expires(_key: str, ttl_s: float, now: float) -> float:
    return now + ttl_s


class MemoryState:
    """The state of a single process; optionally backed by a state file."""

    shared = False

    def __init__(self, *, path: Path | None = None, replica: str | None = None) -> None:
        self.replica = replica or new_replica_id()
        self._path = path
        self._claims: TLRUCache[str, float] = TLRUCache(
            maxsize=MAX_CLAIMS, ttu=_expires, timer=time.monotonic
        )
        self._threads: LRUCache[tuple[str, str], bool] = LRUCache(maxsize=MAX_THREADS)
        self._questions: dict[tuple[str, str], Question] = {}
        self._orphans: list[Question] = []
        self._handlers: list[CancelHandler] = []
        self._write_lock = asyncio.Lock()

    async def claim(self, key: str, *, ttl_s: float) -> bool:
        """True the first time `key` is claimed within `ttl_s`."""
        if key in self._claims:
            return False
        self._claims[key] = ttl_s
        return True

    async def join_thread(self, channel: str, thread_ts: str) -> None:
        """Remember the thread (saved with the next write of the file)."""
        self._threads[(channel, thread_ts)] = True

    async def in_thread(self, channel: str, thread_ts: str) -> bool:
        """Whether the bot is part of the thread."""
        return (channel, thread_ts) in self._threads

    async def cancel(self, channel: str, ts: str) -> None:
        """Tell this process's handlers (there are no other replicas)."""
        for handler in self._handlers:
            handler(channel, ts)

    def on_cancel(self, handler: CancelHandler) -> None:
        """Register a cancellation handler."""
        self._handlers.append(handler)

    async def begin(self, question: Question) -> None:
        """Record a question in progress, durably when there is a file."""
        self._questions[(question.channel, question.ts)] = question
        await self._save()

    async def finish(self, channel: str, ts: str) -> None:
        """Forget a question that got its reply."""
        if self._questions.pop((channel, ts), None) is not None:
            await self._save()

    async def orphans(self) -> list[Question]:
        """The previous process's unfinished questions, once.

        They stay recorded (now as this process's) until finished, so a crash during
        recovery leaves them for the next process again.
        """
        found, self._orphans = self._orphans, []
        for question in found:
            self._questions.setdefault((question.channel, question.ts), question)
        return found

    async def start(self) -> None:
        """Load the previous process's file, if any."""
        if self._path is None or not self._path.exists():
            return
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            self._orphans = [Question(**q) for q in data.get("questions", [])]
            for channel, thread_ts in data.get("threads", []):
                self._threads[(str(channel), str(thread_ts))] = True
        except (OSError, ValueError, TypeError) as exc:
            event(log, "state_file_unreadable", level=logging.WARNING, exc_info=exc)
            return
        event(log, "state_loaded", orphans=len(self._orphans), threads=len(self._threads))

    async def aclose(self) -> None:
        """Write the file one last time."""
        await self._save()

    async def _save(self) -> None:
        if self._path is None:
            return
        data: dict[str, Any] = {
            "version": FILE_VERSION,
            "questions": [
                dataclasses.asdict(q) for q in [*self._orphans, *self._questions.values()]
            ],  # orphans not yet handed out stay for the next start
            "threads": [list(key) for key in list(self._threads.keys())[-THREADS_IN_FILE:]],
        }
        async with self._write_lock:
            await asyncio.to_thread(_write_atomically, self._path, json.dumps(data))


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step: a crash leaves the old or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
