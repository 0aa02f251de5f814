"""A bounded in-memory cache of decoded files, so a follow-up downloads nothing again.

Bounded by bytes (least recently used entries go first) and by age (cachetools). Concurrent loads
of the same key share one download. Nothing is ever written to disk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from cachetools import TTLCache

from bot.imaging.types import DecodedFile


class ImageCache:
    """Decoded files by key (a Slack file id), with a byte cap and a time limit."""

    def __init__(
        self, *, max_bytes: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # An LRU cache whose size is the images' bytes; entries live for ttl_s, reads
        # do not extend that.
        self._entries: TTLCache[str, DecodedFile] = TTLCache(
            maxsize=max_bytes, ttl=ttl_s, timer=clock, getsizeof=lambda f: f.nbytes
        )
        self._loading: dict[str, asyncio.Future[DecodedFile]] = {}

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        self._entries.expire()
        return int(self._entries.currsize)

    def __len__(self) -> int:
        self._entries.expire()
        return len(self._entries)

    def get(self, key: str) -> DecodedFile | None:
        """The cached file, if present and fresh."""
        value: DecodedFile | None = self._entries.get(key)
        return value

    def put(self, key: str, value: DecodedFile) -> None:
        """Store a file; evict the least recently used beyond the byte cap."""
        try:
            self._entries[key] = value
        except ValueError:  # larger than the whole cache: serve it, do not keep it
            self._entries.pop(key, None)

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
