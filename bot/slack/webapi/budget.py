"""A process-wide budget for Slack's streaming methods, within their rate tiers.

chat.startStream and chat.stopStream are Tier 2 (about 20 calls a minute each, per
workspace: https://docs.slack.dev/reference/methods/chat.startStream/), appendStream
Tier 4 (100+). A stream books its start and its stop together when it starts, keeping
a few calls a minute spare for stops that land in a later minute than their start.
"""

from __future__ import annotations

import time
from collections import deque


class StreamBudget:
    """Start+stop pairs (Tier 2) and appends (Tier 4) per minute, for the whole process."""

    def __init__(self, *, pairs_per_minute: int = 12, appends_per_minute: int = 90) -> None:
        self.limits = {"pair": pairs_per_minute, "append": appends_per_minute}
        self._spent: dict[str, deque[float]] = {"pair": deque(), "append": deque()}
        self.refused = False  # the workspace does not stream: stop asking

    def take(self, kind: str) -> bool:
        """Spend one call of `kind` if the last minute leaves room."""
        if self.refused:
            return False
        spent, now = self._spent[kind], time.monotonic()
        while spent and now - spent[0] >= 60:
            spent.popleft()
        if len(spent) >= self.limits[kind]:
            return False
        spent.append(now)
        return True
