"""Which Slack events get an answer: a pure function of the event.

Each user message maps to exactly one event type we act on, so two bot processes
sharing a workspace never both answer it: channel mentions come as `app_mention`
(their `message` twin is ignored), DMs and thread follow-ups as `message`. A mention
in a conversation whose id starts with G (a private channel or a group DM: the id
cannot tell them apart, and `app_mention` carries no `channel_type`) is answered from
its `message` twin, which says which, so a group DM is always known as one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    channel_type: str = ""  # "im", "mpim", "channel", "group"
    # The question itself, as the event carries it: the newest message is taken from
    # here, so a thread read that lags behind the event never answers an older one.
    message: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # A question asked about `message` without a Slack message of its own (the "Ask
    # MedGemma" shortcut): answered in the message's thread, after it.
    question: str = field(default="", compare=False)

    @property
    def top_level(self) -> bool:
        """The question is not a reply in a thread."""
        return self.thread_ts == self.ts

    @property
    def in_dm(self) -> bool:
        """The question was written in a direct message with the bot."""
        return self.channel_type == "im"

    @property
    def direct(self) -> bool:
        """A direct message or a group DM: MEDGEMMA_ALLOW_DMS decides who may ask here."""
        return self.channel_type in ("im", "mpim")


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
    channel_type = str(event.get("channel_type") or "channel")
    where = {"channel": channel, "ts": ts, "thread_ts": thread_ts, "user": user}

    def to(action: Action, reason: str) -> Route:
        return Route(action, reason, channel_type=channel_type, message=event, **where)

    if event_type == "app_mention":
        if channel.startswith("G"):
            return _ignore("mention: answered from its message twin, which has the type")
        return to("answer", event_type)
    mentions = mentioned_users(str(event.get("text", "")))
    if channel_type == "im":
        return to("answer", "dm")
    if bot_user_id in mentions:
        # Group DMs may not deliver app_mention; G ids are answered from here.
        if channel_type == "mpim" or channel.startswith("G"):
            return to("answer", event_type)
        return _ignore("mention: answered from app_mention")
    if thread_ts != ts:
        if mentions:
            return _ignore("addressed to other people")
        return to("followup", "thread reply")
    return _ignore("channel message without mention")
