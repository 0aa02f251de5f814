"""Small in-process coordination between questions: per-thread turns, DM arrivals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

ThreadKey = tuple[str, str]  # (channel, thread_ts)


class ThreadTurns:
    """Questions of one thread are answered one after another, in arrival order.

    The next question's read of the thread then holds the previous answer, so a
    follow-up sent before the first answer came still sees it. asyncio.Lock wakes
    its waiters first come, first served.
    """

    def __init__(self) -> None:
        self._locks: dict[ThreadKey, asyncio.Lock] = {}
        self._users: dict[ThreadKey, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: ThreadKey) -> AsyncIterator[None]:
        """Hold the thread for one question."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # nobody waits: forget the thread
                del self._users[key], self._locks[key]


class Arrivals:
    """Wakes a DM image that waits for its question when the person writes again."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], asyncio.Event] = {}

    def arrived(self, channel: str, user: str) -> None:
        """A person wrote a new top-level message in a DM."""
        waiting = self._events.get((channel, user))
        if waiting is not None:
            waiting.set()

    async def wait(self, channel: str, user: str, *, timeout_s: float) -> None:
        """Return when the person writes again, or after `timeout_s`."""
        key = (channel, user)
        arrived = self._events.setdefault(key, asyncio.Event())
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await arrived.wait()
        finally:
            if self._events.get(key) is arrived:
                del self._events[key]
