"""Start-up work in a daemon thread, so that a stop request is not held up by it.

Loading weights can take minutes (a download, a slow disk) and cannot be interrupted.
`asyncio.to_thread` runs it in the loop's default executor, which `asyncio.run` joins on
the way out: SIGTERM during a load would wait for the load. A daemon thread is left
behind instead, and the process ends as soon as the bot has shut down.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_daemon_thread(work: Callable[[], T], *, name: str) -> T:
    """`work()`'s result, computed in a new daemon thread; cancelling stops only the wait."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the waiter was cancelled: nobody wants the result
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = work(), None
        except BaseException as exc:  # handed to the waiter, raised there
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop is closed: the bot stopped meanwhile
            pass

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future
