"""Remembers which messages are already being answered (double delivery, retries)."""

from __future__ import annotations

import time
from collections.abc import Callable

from cachetools import TTLCache


class Seen:
    """A bounded set of keys that forgets each one `ttl_s` after it was first offered."""

    def __init__(
        self,
        *,
        ttl_s: float = 900.0,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys: TTLCache[tuple[str, str], bool] = TTLCache(
            maxsize=max_keys, ttl=ttl_s, timer=clock
        )

    def first_time(self, key: tuple[str, str]) -> bool:
        """True the first time a key is offered within the time limit, False after."""
        if key in self._keys:
            return False
        self._keys[key] = True
        return True
