"""A thread read from Slack (`conversations.replies`) within a fixed number of calls.

conversations.replies is Tier 3, about 50 calls a minute for the whole workspace, and
reads a thread oldest first: a mention in a 3,000-reply thread read whole took 16
calls. So a thread that fits one page (`PAGE` messages) costs one call, and a longer
one is read as its first message (the case, usually with its images) and a recent
window of at most one page ending at the question, never more than `MAX_READS` calls in
all. The window starts where the thread's own pace (its first message's `reply_count`
and `latest_reply`) says a page back would be, and is narrowed while it holds more than
a page. The replies in between are left out, and the answer's notes say so; the
conversation budget would keep only the newest turns of such a thread anyway.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

Raw = dict[str, Any]
PAGE = 200  # messages per call: Slack's recommended most
MAX_READS = 4  # calls per thread read, whatever its length
NARROWING = 4  # a window that holds more than a page shrinks to a quarter


@dataclass(frozen=True)
class ThreadRead:
    """A thread's messages, oldest first; `left_out` when its middle was not read."""

    messages: list[Raw]
    left_out: bool = False


async def read_thread(
    client: AsyncWebClient, *, channel: str, thread_ts: str, until_ts: str | None = None
) -> ThreadRead:
    """The thread up to and including `until_ts` (default: all): whole, or its ends."""
    where: dict[str, Any] = {"channel": channel, "thread_ts": thread_ts, "until_ts": until_ts}
    first, more = await _page(client, **where)
    if not more:
        return ThreadRead(_ordered(first, until_ts))
    parent = [m for m in first if m.get("ts") == thread_ts]
    after = float(str(first[-1].get("ts")))
    head = parent[0] if parent else {}
    top = float(until_ts or head.get("latest_reply") or time.time())
    search = _Window(after=after, top=top, span=_first_span(head, read=len(first), after=after))
    for _ in range(MAX_READS - 1):
        oldest = search.oldest
        window, more = await _page(client, **where, oldest=f"{oldest:.6f}")
        if not more and oldest <= after:  # it reached back to the first page: all read
            return ThreadRead(_ordered([*first, *window], until_ts))
        if search.seen(window, fits=not more, oldest=oldest):
            break
    return ThreadRead(_ordered([*parent, *search.best], until_ts), left_out=True)


@dataclass
class _Window:
    """Where the newest page of a long thread starts: a search by time, a few calls long.

    A window that holds more than a page narrows; one that holds less than half a page
    widens, keeping the widest that fitted.
    """

    after: float  # the first page's last reply
    top: float  # the newest message
    span: float  # seconds back from `top` to try next
    fitted: float = 0.0  # the widest span known to fit one page
    too_wide: float | None = None  # the narrowest span known not to
    best: list[Raw] = field(default_factory=list)

    @property
    def oldest(self) -> float:
        """The start of the window to try next."""
        return max(self.after, self.top - self.span)

    def seen(self, window: list[Raw], *, fits: bool, oldest: float) -> bool:
        """Learn from one read; True when the window found is wide enough."""
        if fits:
            self.fitted, self.best = self.span, window
            if len(window) >= PAGE // 2:
                return True
            wider = self.span * NARROWING
            self.span = wider if self.too_wide is None else (self.span + self.too_wide) / 2
        else:
            self.too_wide = self.span
            narrower = min(self.span / NARROWING, _local_span(window, oldest=oldest))
            self.span = (self.fitted + self.span) / 2 if self.fitted else narrower
        return False


def _local_span(window: list[Raw], *, oldest: float) -> float:
    """Seconds that about 3/4 of a page take at the pace of a full window's replies.

    Replies come in bursts (a case discussed in a minute, then quiet for a day): the
    pace of the whole thread can be far off for its newest stretch, so a window that
    held too much is narrowed to the pace of what it held.
    """
    stamps = [float(str(m.get("ts"))) for m in window if float(str(m.get("ts") or 0)) >= oldest]
    if len(stamps) < 2:
        return float("inf")
    return (max(stamps) - min(stamps)) * 3 / 4


async def fetch_thread(
    client: AsyncWebClient, *, channel: str, thread_ts: str, until_ts: str | None = None
) -> list[Raw]:
    """The thread's messages as `read_thread` reads them, oldest first."""
    read = await read_thread(client, channel=channel, thread_ts=thread_ts, until_ts=until_ts)
    return read.messages


def _first_span(parent: Mapping[str, Any], *, read: int, after: float) -> float:
    """Seconds back from the newest reply where about a page of replies starts.

    From the thread's pace (`reply_count` replies between its start and `latest_reply`);
    the whole rest when it fits one page, an hour when the first message does not say.
    """
    replies = parent.get("reply_count")
    latest, started = parent.get("latest_reply"), parent.get("ts")
    if not isinstance(replies, int) or not latest or not started or replies <= 0:
        return 3600.0
    if replies - read < PAGE * 3 // 4:  # the rest fits one page: read it all
        return float(str(latest)) - after
    pace = (float(str(latest)) - float(str(started))) / replies  # seconds per reply
    return pace * PAGE * 3 / 4


async def _page(
    client: AsyncWebClient,
    *,
    channel: str,
    thread_ts: str,
    until_ts: str | None,
    oldest: str | None = None,
) -> tuple[list[Raw], bool]:
    """One call: up to a page of the thread between the bounds, and whether more remain."""
    bounds: dict[str, Any] = {"latest": until_ts} if until_ts else {}
    if oldest:
        bounds["oldest"] = oldest
    if bounds:
        bounds["inclusive"] = True  # both ends: the first page's last reply is a duplicate
    response = await client.conversations_replies(
        channel=channel, ts=thread_ts, limit=PAGE, include_all_metadata=True, **bounds
    )
    messages = [m for m in response.get("messages") or [] if isinstance(m, dict)]
    return messages, bool(response.get("has_more"))


def _ordered(messages: list[Raw], until_ts: str | None) -> list[Raw]:
    """Each message once, up to `until_ts`, oldest first (pages repeat the parent)."""
    by_ts: dict[str, Raw] = {}
    for message in messages:
        by_ts.setdefault(str(message.get("ts")), message)
    kept = (m for ts, m in by_ts.items() if until_ts is None or float(ts) <= float(until_ts))
    return sorted(kept, key=lambda m: float(m["ts"]))
