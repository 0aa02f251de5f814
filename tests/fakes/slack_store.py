"""The fake's conversations: messages per channel, threads, timestamps and cursors."""

from __future__ import annotations

import base64
import binascii
import copy
import time
from collections.abc import Sequence
from typing import Any

Message = dict[str, Any]

FIRST_TS_MICROS = 1_700_000_000_000_100
TS_STEP_MICROS = 100


def format_ts(micros: int) -> str:
    """Slack's "seconds.micros" message timestamp."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def ts_key(ts: str) -> tuple[int, int]:
    """Sort key for a ts: exact, unlike float("1700000000.000100")."""
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def encode_cursor(ts: str) -> str:
    """An opaque cursor shaped like Slack's: base64 of "next_ts:<digits>"."""
    return base64.b64encode(f"next_ts:{ts.replace('.', '')}".encode()).decode()


def decode_cursor(cursor: str) -> str | None:
    """The message ts a cursor points at, or None when it is not one of ours."""
    try:
        raw = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, digits = raw.partition(":")
    if prefix != "next_ts" or not digits.isdigit() or len(digits) < 7:
        return None
    return format_ts(int(digits))


def page(
    messages: Sequence[Message], *, cursor: str | None, limit: int
) -> tuple[list[Message], str] | None:
    """One page of `messages` and the next cursor ("" at the end); None for a bad cursor."""
    start = 0
    if cursor:
        ts = decode_cursor(cursor)
        positions = [i for i, m in enumerate(messages) if m["ts"] == ts]
        if not positions:
            return None
        start = positions[0]
    chunk = list(messages[start : start + limit])
    rest = messages[start + limit :]
    return chunk, encode_cursor(rest[0]["ts"]) if rest else ""


class MessageStore:
    """Messages by channel and ts, with Slack's thread bookkeeping on parents."""

    def __init__(self) -> None:
        self._clock = FIRST_TS_MICROS
        self.channels: dict[str, dict[str, Message]] = {}

    def new_ts(self) -> str:
        """A unique timestamp, later than every one handed out before.

        Slack's `ts` is the Unix time of the message in microseconds: the clock is the
        wall clock, nudged forward when two messages come within the same microsecond.
        """
        self._clock = max(self._clock + TS_STEP_MICROS, time.time_ns() // 1000)
        return format_ts(self._clock)

    def run_ahead(self, seconds: float) -> None:
        """Hand out timestamps from `seconds` ahead of the wall clock, one step apart.

        Messages made in a loop then have an even pace however loaded the machine is
        (the wall clock would space them by the loop's pauses).
        """
        self._clock = max(self._clock, time.time_ns() // 1000 + int(seconds * 1_000_000))

    def add(self, channel: str, message: Message) -> Message:
        """Store `message` (it must carry `ts`); a reply also updates its parent."""
        messages = self.channels.setdefault(channel, {})
        messages[message["ts"]] = message
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"] and thread_ts in messages:
            self._count_reply(messages[thread_ts], message)
        return message

    def get(self, channel: str, ts: str) -> Message | None:
        """The stored message itself (not a copy), or None."""
        return self.channels.get(channel, {}).get(ts)

    def remove(self, channel: str, ts: str) -> Message | None:
        """Drop one message; its replies, if any, stay."""
        return self.channels.get(channel, {}).pop(ts, None)

    def all(self, channel: str) -> list[Message]:
        """Every message of a channel, threads included, oldest first (copies)."""
        return [copy.deepcopy(m) for m in self._sorted(channel)]

    def thread(self, channel: str, ts: str) -> list[Message] | None:
        """Parent first then replies (copies); a message without replies is alone; None if unknown.

        A reply's ts gives its whole thread. Replies whose parent was never stored
        (a thread_ts the fake did not see) come back without a parent.
        """
        target = self.get(channel, ts)
        root = target.get("thread_ts", ts) if target is not None else ts
        members = [
            m for m in self._sorted(channel) if m["ts"] == root or m.get("thread_ts") == root
        ]
        if not members:
            return None
        return [copy.deepcopy(m) for m in members]

    def top_level(self, channel: str) -> list[Message]:
        """Messages shown in the channel itself, newest first (copies), as history lists them."""
        tops = [
            m
            for m in self._sorted(channel)
            if m.get("thread_ts", m["ts"]) == m["ts"] or m.get("subtype") == "thread_broadcast"
        ]
        return [copy.deepcopy(m) for m in reversed(tops)]

    def _sorted(self, channel: str) -> list[Message]:
        return sorted(self.channels.get(channel, {}).values(), key=lambda m: ts_key(m["ts"]))

    @staticmethod
    def _count_reply(parent: Message, reply: Message) -> None:
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        users = parent.setdefault("reply_users", [])
        if reply.get("user") and reply["user"] not in users:
            users.append(reply["user"])
        parent["reply_users_count"] = len(users)
        parent["latest_reply"] = reply["ts"]
