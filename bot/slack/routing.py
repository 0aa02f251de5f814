"""Which Slack events get an answer: a pure function of the event.

Each user message maps to exactly one event type we act on, so two bot processes
sharing a workspace never both answer it: channel mentions come as `app_mention`
(their `message` twin is ignored), DMs and thread follow-ups as `message`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["answer", "followup", "cancel", "ignore"]

# Message subtypes that carry a human's question; everything else is acknowledged only.
ANSWERABLE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Route:
    """What to do with an event, and for which message."""

    action: Action
    reason: str
    channel: str = ""
    ts: str = ""  # the message to answer (or whose answer to cancel)
    thread_ts: str = ""  # the thread the answer goes into
    user: str = ""


def mentioned_users(text: str) -> set[str]:
    """User ids mentioned in a message's text."""
    return set(_MENTION.findall(text or ""))


def strip_mention(text: str, bot_user_id: str) -> str:
    """The text without mentions of the bot."""
    pattern = re.compile(rf"[ \t]?<@{re.escape(bot_user_id)}(?:\|[^>]*)?>[ \t]?")
    return pattern.sub(" ", text or "").strip()


def _ignore(reason: str) -> Route:
    return Route("ignore", reason)


def route(event: dict[str, Any], *, event_type: str, bot_user_id: str) -> Route:
    """Decide what an `app_mention` or `message` event asks of the bot."""
    subtype = event.get("subtype")
    channel = str(event.get("channel", ""))
    if subtype == "message_deleted":
        deleted = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts", "")
        return Route("cancel", "deleted", channel=channel, ts=str(deleted))
    if subtype not in ANSWERABLE_SUBTYPES:
        return _ignore(f"subtype {subtype}")
    user = str(event.get("user") or "")
    if event.get("bot_id") or event.get("bot_profile") or not user or user == bot_user_id:
        return _ignore("bot or system message")
    ts = str(event.get("ts", ""))
    thread_ts = str(event.get("thread_ts") or ts)
    answer = Route("answer", event_type, channel=channel, ts=ts, thread_ts=thread_ts, user=user)
    if event_type == "app_mention":
        return answer
    channel_type = event.get("channel_type")
    mentions = mentioned_users(str(event.get("text", "")))
    if channel_type == "im":
        return Route("answer", "dm", channel=channel, ts=ts, thread_ts=thread_ts, user=user)
    if bot_user_id in mentions:
        if channel_type == "mpim":  # group DMs may not deliver app_mention
            return answer
        return _ignore("mention: answered from app_mention")
    if thread_ts != ts:
        if mentions:
            return _ignore("addressed to other people")
        return Route(
            "followup", "thread reply", channel=channel, ts=ts, thread_ts=thread_ts, user=user
        )
    return _ignore("channel message without mention")
