"""Event payloads shaped like Slack's own, Events API envelopes and HTTP request signing.

Builders are plain functions. Without an explicit `ts` they draw one from a
module-wide counter in the 1600000000 range, so such events never collide with
(and sort before) the messages a `FakeSlack` stores; use `FakeSlack.post_user_message`
for messages that `conversations.replies` must know about.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from typing import Any, Literal

from tests.fakes.slack_store import format_ts

Event = dict[str, Any]
ChannelType = Literal["channel", "group", "im", "mpim"]

_builder_clock = itertools.count(1_600_000_000_000_100, 100)
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_MARKUP = re.compile(r"<(?:[@#!]|https?://)[^<>]*>")
_BARE_URL = re.compile(r"https?://[^\s<>]+")


def client_text(typed: str) -> str:
    """A message as Slack stores what a person typed: `&`, `<`, `>` escaped, links wrapped.

    Slack's clients send the text escaped and with bare URLs as `<https://...>`
    ("Formatting text for app surfaces", docs.slack.dev/messaging/formatting-message-text:
    escaping and automatic parsing); the API returns it that way, events included.
    Markup a test writes on purpose (`<@U1>`, `<#C1>`, `<!here>`, `<https://...|label>`)
    is kept.
    """
    pieces: list[str] = []
    position = 0
    for match in _MARKUP.finditer(typed):
        pieces.append(_escape_plain(typed[position : match.start()]))
        pieces.append(match.group(0))
        position = match.end()
    pieces.append(_escape_plain(typed[position:]))
    return "".join(pieces)


def _escape_plain(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BARE_URL.sub(lambda m: f"<{m.group(0)}>", escaped)


def next_event_ts() -> str:
    """A fresh ts for an event that the fake's store does not hold."""
    return format_ts(next(_builder_clock))


def new_event_id() -> str:
    """An event id shaped like Slack's: "Ev" and ten upper-case letters and digits."""
    return "Ev" + uuid.uuid4().hex[:10].upper()


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack adds to a user's message, with mentions as user elements."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in _MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}]


def _threaded(event: Event, thread_ts: str | None, parent_user_id: str | None) -> Event:
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        if parent_user_id is not None:
            event["parent_user_id"] = parent_user_id
    return event


def app_mention_event(
    *,
    channel: str,
    text: str,
    user: str = "U1",
    ts: str | None = None,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    files: list[dict[str, Any]] | None = None,
    team: str = "T1",
) -> Event:
    """An `app_mention` event (channels only; DMs never send one)."""
    ts = ts or next_event_ts()
    event: Event = {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "team": team,
        "blocks": rich_text_blocks(text),
        "channel": channel,
        "event_ts": ts,
    }
    if files is not None:
        event["files"] = files
        event["upload"] = False
        event["display_as_bot"] = False
    return _threaded(event, thread_ts, parent_user_id)


def message_event(
    *,
    channel: str,
    text: str,
    user: str = "U1",
    ts: str | None = None,
    channel_type: ChannelType = "channel",
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    files: list[dict[str, Any]] | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    team: str = "T1",
) -> Event:
    """A `message` event as `message.channels` / `.groups` / `.im` / `.mpim` deliver it."""
    ts = ts or next_event_ts()
    event: Event = {"type": "message", "text": text, "user": user, "ts": ts, "team": team}
    if subtype is not None:
        event["subtype"] = subtype
    if bot_id is not None:
        event["bot_id"] = bot_id
    else:
        event["client_msg_id"] = str(uuid.uuid4())
        event["blocks"] = rich_text_blocks(text)
    if files is not None:
        event["files"] = files
        event["upload"] = False
        event["display_as_bot"] = False
    event.update({"channel": channel, "event_ts": ts, "channel_type": channel_type})
    return _threaded(event, thread_ts, parent_user_id)


def file_share_message(
    *,
    channel: str,
    files: list[dict[str, Any]],
    text: str = "",
    user: str = "U1",
    ts: str | None = None,
    channel_type: ChannelType = "channel",
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    team: str = "T1",
) -> Event:
    """A `message` with subtype `file_share` and the uploaded `files[]`."""
    return message_event(
        channel=channel,
        text=text,
        user=user,
        ts=ts,
        channel_type=channel_type,
        thread_ts=thread_ts,
        parent_user_id=parent_user_id,
        files=files,
        subtype="file_share",
        team=team,
    )


def message_changed_event(
    *,
    channel: str,
    message: dict[str, Any],
    previous_message: dict[str, Any] | None = None,
    ts: str | None = None,
    channel_type: ChannelType = "channel",
) -> Event:
    """The hidden `message_changed` event an edit (the bot's own chat.update too) causes."""
    ts = ts or next_event_ts()
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": message,
        "previous_message": previous_message or {},
        "channel": channel,
        "hidden": True,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel_type,
    }


def message_deleted_event(
    *,
    channel: str,
    deleted_ts: str,
    previous_message: dict[str, Any] | None = None,
    ts: str | None = None,
    channel_type: ChannelType = "channel",
) -> Event:
    """The hidden `message_deleted` event."""
    ts = ts or next_event_ts()
    return {
        "type": "message",
        "subtype": "message_deleted",
        "previous_message": previous_message or {},
        "channel": channel,
        "hidden": True,
        "deleted_ts": deleted_ts,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel_type,
    }


def channel_join_event(
    *,
    channel: str,
    user: str,
    inviter: str | None = None,
    ts: str | None = None,
    channel_type: ChannelType = "channel",
) -> Event:
    """The `channel_join` message posted when someone (often the bot) joins."""
    ts = ts or next_event_ts()
    event: Event = {
        "type": "message",
        "subtype": "channel_join",
        "user": user,
        "text": f"<@{user}> has joined the channel",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if inviter is not None:
        event["inviter"] = inviter
    return event


def event_callback_payload(
    event: Event,
    *,
    event_id: str,
    team_id: str = "T1",
    api_app_id: str = "A1",
    bot_user_id: str = "UBOT",
    token: str = "fake-verification-token",
) -> dict[str, Any]:
    """The `event_callback` body Slack sends for one event."""
    return {
        "token": token,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def event_callback_body(
    event: Event,
    *,
    event_id: str,
    team_id: str = "T1",
    api_app_id: str = "A1",
    bot_user_id: str = "UBOT",
) -> bytes:
    """The raw HTTP body for one event, ready for `signed_request_headers`."""
    payload = event_callback_payload(
        event, event_id=event_id, team_id=team_id, api_app_id=api_app_id, bot_user_id=bot_user_id
    )
    return json.dumps(payload).encode()


def events_api_envelope(
    payload: dict[str, Any], *, envelope_id: str, retry_attempt: int = 0, retry_reason: str = ""
) -> dict[str, Any]:
    """The Socket Mode envelope around an `event_callback` payload."""
    return {
        "envelope_id": envelope_id,
        "payload": payload,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry_attempt,
        "retry_reason": retry_reason,
    }


def signed_request_headers(
    body: bytes,
    *,
    signing_secret: str,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers of a signed request: v0 signature, timestamp, content type, retries.

    Events come as JSON, interactions as a form (`application/x-www-form-urlencoded`).
    """
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    return headers
