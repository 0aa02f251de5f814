"""Background work for Slack events: admitted fairly, tracked, cancellable, drained at shutdown.

Listeners return at once (Slack is acknowledged); each question runs in a task kept
here by key (channel, message ts), so a deleted question can cancel its own answer and
shutdown can wait for, then cancel, what is still running. No task reference is ever
dropped. Which questions are taken and in what order they get an answer slot is the
line's (`line.py`): a question's work awaits its slot (`ready`) before it answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.logs import event
from bot.slack.line import Key, Limits, Line, Ticket

log = logging.getLogger(__name__)

SHUTDOWN = "shutdown"
STOPPED = "stopped"  # cancelled by its Stop button (surfaces/stop.py), not deleted


class Jobs:
    """Questions admitted by the line, each a task until it ends; notices beside them."""

    def __init__(self, *, limits: Limits) -> None:
        self.line = Line(limits)
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._side: set[asyncio.Task[Any]] = set()  # notices, outside the bound

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def idle(self) -> bool:
        """No question and no notice in progress."""
        return not self._tasks and not self._side

    def start(
        self, key: Key, work: Coroutine[Any, Any, None], *, person: str, channel: str
    ) -> str | None:
        """Run `work` for `key` if the line admits it; why not otherwise (`work` closed).

        "person" or "channel": its limit of questions in flight is reached; "busy": the
        wait would be long; "duplicate": this question already runs here.
        """
        refused = "duplicate" if key in self._tasks else None
        refused = refused or self.line.admit(key, person=person, channel=channel)
        if refused is not None:
            work.close()
            return refused
        task = asyncio.create_task(work, name=f"answer:{key[0]}:{key[1]}")
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._done(key, t))
        return None

    def ready(self, key: Key) -> Ticket:
        """The question is ready to be answered: its slot now, or its place in line.

        Await `ticket.granted` before answering; set `ticket.on_place` to hear how many
        questions are ahead while it waits.
        """
        return self.line.wants_slot(key)

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
            self.line.leave(key)
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
