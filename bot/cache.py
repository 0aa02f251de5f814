"""A bounded in-memory cache of decoded files, so a follow-up downloads nothing again.

Bounded by bytes (least recently used entries go first) and by age. Concurrent loads
of the same key share one download. Nothing is ever written to disk.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from bot.imaging.types import DecodedFile


class ImageCache:
    """Decoded files by key (a Slack file id), with a byte cap and a time limit."""

    def __init__(
        self, *, max_bytes: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_bytes = max_bytes
        self._ttl = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, DecodedFile]] = OrderedDict()
        self._bytes = 0
        self._loading: dict[str, asyncio.Future[DecodedFile]] = {}

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> DecodedFile | None:
        """The cached file, if present and fresh."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored, value = entry
        if self._clock() - stored > self._ttl:
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: str, value: DecodedFile) -> None:
        """Store a file; evict the least recently used beyond the byte cap."""
        if key in self._entries:
            self._remove(key)
        if value.nbytes > self._max_bytes:
            return  # larger than the whole cache: serve it, do not keep it
        self._entries[key] = (self._clock(), value)
        self._bytes += value.nbytes
        while self._bytes > self._max_bytes:
            self._remove(next(iter(self._entries)))

    def _remove(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= value.nbytes

    async def get_or_load(
        self, key: str, load: Callable[[], Awaitable[DecodedFile]]
    ) -> DecodedFile:
        """The cached file, or the result of `load()`, shared by concurrent callers."""
        if (hit := self.get(key)) is not None:
            return hit
        if (pending := self._loading.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                # The first caller was cancelled (a deleted question): load it ourselves.
        future: asyncio.Future[DecodedFile] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(value)
        self.put(key, value)
        return value
