"""Background work for Slack events: bounded, tracked, cancellable, drained at shutdown.

Listeners return at once (Slack is acknowledged); each question runs in a task kept
here by key (channel, message ts), so a deleted question can cancel its own answer and
shutdown can wait for, then cancel, what is still running. No task reference is ever
dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.logs import event

log = logging.getLogger(__name__)

Key = tuple[str, str]
SHUTDOWN = "shutdown"


class Jobs:
    """At most `max_pending` questions in progress; the rest are refused (busy)."""

    def __init__(self, *, max_pending: int) -> None:
        self._max = max_pending
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._side: set[asyncio.Task[Any]] = set()  # notices, outside the bound

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def idle(self) -> bool:
        """No question and no notice in progress."""
        return not self._tasks and not self._side

    def try_start(self, key: Key, work: Coroutine[Any, Any, None]) -> bool:
        """Run `work` for `key` unless the bound is reached (then `work` is closed)."""
        if len(self._tasks) >= self._max or key in self._tasks:
            work.close()
            return False
        task = asyncio.create_task(work, name=f"answer:{key[0]}:{key[1]}")
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._done(key, t))
        return True

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run a short side task (a notice) that is tracked but not counted."""
        task = asyncio.create_task(work)
        self._side.add(task)
        task.add_done_callback(self._side_done)

    def _side_done(self, task: asyncio.Task[Any]) -> None:
        self._side.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            event(log, "side_task_failed", level=logging.ERROR, exc_info=error)

    def _done(self, key: Key, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and (error := task.exception()) is not None:
            event(log, "job_failed", level=logging.ERROR, exc_info=error)

    def cancel(self, key: Key, reason: str = "deleted") -> bool:
        """Cancel the work for a key (its question was deleted); False if none runs here."""
        task = self._tasks.get(key)
        if task is None or task.done():
            return False
        task.cancel(reason)
        event(log, "job_cancelled", channel=key[0], message_ts=key[1], reason=reason)
        return True

    async def drain(self, *, timeout_s: float) -> None:
        """Wait up to `timeout_s` for running work, then cancel what is left."""
        pending = list(self._tasks.values())
        if pending:
            event(log, "draining", jobs=len(pending), timeout_s=timeout_s)
            _, still = await asyncio.wait(pending, timeout=timeout_s)
            for task in still:
                task.cancel(SHUTDOWN)
            if still:  # cancelled answers post their own short notice before they finish
                await asyncio.wait(still, timeout=10)
        if self._side:
            await asyncio.wait(list(self._side), timeout=10)
