"""Remembers which messages are already being answered (double delivery, retries)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class Seen:
    """A bounded set of keys that forgets them after `ttl_s`."""

    def __init__(
        self,
        *,
        ttl_s: float = 900.0,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_s
        self._max = max_keys
        self._clock = clock
        self._keys: OrderedDict[tuple[str, str], float] = OrderedDict()

    def first_time(self, key: tuple[str, str]) -> bool:
        """True the first time a key is offered within the time limit, False after."""
        now = self._clock()
        while self._keys and (now - next(iter(self._keys.values())) > self._ttl):
            self._keys.popitem(last=False)
        if key in self._keys:
            return False
        self._keys[key] = now
        if len(self._keys) > self._max:
            self._keys.popitem(last=False)
        return True

    def forget(self, key: tuple[str, str]) -> None:
        """Allow a key again (a question that could not be queued)."""
        self._keys.pop(key, None)
