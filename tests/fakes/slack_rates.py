"""Slack's per-method rate limits, as the fake enforces them.

Slack documents each Web API method's limit as a tier, counted per workspace and app
per minute (https://docs.slack.dev/apis/web-api/rate-limits): Tier 1 1+/min, Tier 2
20+/min, Tier 3 50+/min, Tier 4 100+/min; chat.postMessage is "special": about one
message per second per channel, short bursts allowed. Over the limit Slack answers HTTP
429 with `Retry-After` in seconds and the error `ratelimited`. The tier of each method
is the one its reference page lists (docs.slack.dev/reference/methods/<method>);
`conversations.replies` is Tier 3 for internal apps (commercially distributed apps
outside the Marketplace get far less: 1/min and 15 messages a page, not modelled here).
assistant.threads.setStatus's page lists no tier in our stored copy; Tier 3 is assumed.
views.open, .publish, .update and .push are Tier 4 on their pages.

Windows slide. `minute_s` is how long a Slack minute lasts in the fake: tests compress
time (the default, 6 s) so that a burst which real Slack would spread over minutes plays
out in seconds, with the documented counts per window.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

TIERS = {1: 1, 2: 20, 3: 50, 4: 100}  # calls per minute
METHOD_TIERS = {
    "apps.connections.open": 1,
    "auth.test": 4,  # "Special" on its page, generous; Tier 4 is close enough
    "conversations.replies": 3,
    "conversations.history": 3,
    "users.info": 4,
    "bots.info": 3,
    "files.info": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "chat.postEphemeral": 4,
    "chat.startStream": 2,
    "chat.appendStream": 4,
    "chat.stopStream": 2,
    "assistant.threads.setStatus": 3,
    "assistant.threads.setSuggestedPrompts": 4,  # its page: Tier 4
    "assistant.threads.setTitle": 4,
    "views.publish": 4,
    "views.open": 4,
    "views.update": 4,
    "views.push": 4,
}
POST_PER_CHANNEL_PER_MINUTE = 60  # about 1 per second per channel


class RateLimits:
    """Sliding windows per (method, scope); `check` answers the Retry-After or None."""

    def __init__(self, *, minute_s: float = 6.0, clock: Callable[[], float] = time.monotonic):
        self.minute_s = minute_s
        self.enabled = True
        self._clock = clock
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self.limited: list[str] = []  # methods answered 429, in order

    def limit_of(self, method: str) -> int | None:
        """Calls per minute allowed for `method` (None: not limited by the fake)."""
        if method == "chat.postMessage":
            return POST_PER_CHANNEL_PER_MINUTE
        tier = METHOD_TIERS.get(method)
        return TIERS[tier] if tier is not None else None

    def check(self, method: str, *, channel: str | None) -> int | None:
        """Count a call; the Retry-After in whole seconds when it is over the limit."""
        limit = self.limit_of(method)
        if not self.enabled or limit is None:
            return None
        scope = (channel or "") if method == "chat.postMessage" else ""
        calls = self._calls.setdefault((method, scope), deque())
        now = self._clock()
        while calls and now - calls[0] >= self.minute_s:
            calls.popleft()
        if len(calls) >= limit:
            self.limited.append(method)
            return max(1, math.ceil(self.minute_s - (now - calls[0])))
        calls.append(now)
        return None
