"""The fake's chat.* methods: post, update, delete, ephemeral and streamed messages."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.slack_limits import (
    MAX_MARKDOWN_TOTAL,
    MAX_POST_TEXT,
    MAX_UPDATE_TEXT,
    SlackError,
    check_message,
)
from tests.fakes.slack_store import Message, MessageStore
from tests.fakes.slack_workspace import Workspace

Params = dict[str, Any]
Handler = Callable[[Params], dict[str, Any]]


def require_channel(params: Params, unknown_channels: set[str], *, key: str = "channel") -> str:
    """The channel id of a call; any id exists except those in `unknown_channels`."""
    channel = params.get(key)
    if not isinstance(channel, str) or not channel or channel in unknown_channels:
        raise SlackError("channel_not_found")
    return channel


def truthy(value: Any) -> bool:
    """A boolean parameter as Slack reads it from JSON, a form or a query string."""
    if isinstance(value, str):
        return value.lower() in ("1", "true")
    return bool(value)


@dataclass
class Stream:
    """A message written by chat.startStream / appendStream / stopStream."""

    channel: str
    ts: str
    open: bool = True
    chunks: list[dict[str, Any]] = field(default_factory=list)
    task_display_mode: str = "timeline"

    def tasks(self) -> dict[str, dict[str, Any]]:
        """Each task as its latest task_update chunk left it, by id, in first-seen order."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in self.chunks:
            if chunk.get("type") == "task_update":
                found[chunk["id"]] = {**found.get(chunk["id"], {}), **chunk}
        return found


# docs.slack.dev/reference/methods/chat.appendStream ("Using the chunks parameter"):
# markdown_text chunks carry `text`; task_update chunks an `id`, a `title` and a
# `status` (pending, in_progress, complete or error), with optional `details`, `output`
# and `sources`; plan_update chunks a `title`; blocks chunks up to 50 `blocks`.
TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})
DISPLAY_MODES = frozenset({"timeline", "plan"})  # chat.startStream's task_display_mode
_CHUNK_FIELDS = {
    "markdown_text": ("text",),
    "task_update": ("id", "title", "status"),
    "plan_update": ("title",),
    "blocks": ("blocks",),
}


def _chunk_ok(chunk: Any) -> bool:
    if not isinstance(chunk, dict) or chunk.get("type") not in _CHUNK_FIELDS:
        return False
    if not all(chunk.get(key) not in (None, "") for key in _CHUNK_FIELDS[chunk["type"]]):
        return False
    return chunk["type"] != "task_update" or chunk["status"] in TASK_STATUSES


def _stream_parts(params: Params) -> tuple[str, list[dict[str, Any]]]:
    """The markdown a stream call adds, and every chunk it carries (invalid ones refused)."""
    chunks: list[dict[str, Any]] = []
    if isinstance(params.get("markdown_text"), str):
        chunks.append({"type": "markdown_text", "text": params["markdown_text"]})
    given = params.get("chunks") or []
    if not isinstance(given, list) or not all(_chunk_ok(c) for c in given):
        raise SlackError("invalid_arguments", errors=["invalid chunks"])
    chunks.extend(given)
    text = "".join(c.get("text", "") for c in chunks if c.get("type") == "markdown_text")
    return text, chunks


class ChatApi:
    """chat.* over the message store; the bot may only change its own messages."""

    def __init__(
        self, *, workspace: Workspace, store: MessageStore, unknown_channels: set[str]
    ) -> None:
        self.workspace = workspace
        self.store = store
        self.unknown_channels = unknown_channels
        self.ephemerals: list[dict[str, Any]] = []
        self.streams: dict[tuple[str, str], Stream] = {}

    def methods(self) -> dict[str, Handler]:
        """Web API method names and their handlers."""
        return {
            "chat.postMessage": self.post_message,
            "chat.update": self.update,
            "chat.delete": self.delete,
            "chat.postEphemeral": self.post_ephemeral,
            "chat.startStream": self.start_stream,
            "chat.appendStream": self.append_stream,
            "chat.stopStream": self.stop_stream,
        }

    def post_message(self, params: Params) -> dict[str, Any]:
        """chat.postMessage."""
        channel = require_channel(params, self.unknown_channels)
        check_message(
            text=params.get("text"),
            blocks=params.get("blocks"),
            markdown_text=params.get("markdown_text"),
            max_text=MAX_POST_TEXT,
            require_content=not params.get("attachments"),
        )
        message = self.bot_message(channel=channel, params=params)
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "message": copy.deepcopy(message),
        }

    def bot_message(self, *, channel: str, params: Params) -> Message:
        """Store a message from the bot built from chat.postMessage-style params."""
        ts = self.store.new_ts()
        markdown_text = params.get("markdown_text")
        message: Message = {
            "user": self.workspace.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": self.workspace.bot_id,
            "app_id": self.workspace.app_id,
            "text": params.get("text") or markdown_text or "",
            "team": self.workspace.team_id,
            "bot_profile": self.workspace.bot_profile,
        }
        if params.get("blocks") is not None:
            message["blocks"] = params["blocks"]
        elif isinstance(markdown_text, str):
            message["blocks"] = [{"type": "markdown", "text": markdown_text}]
        if params.get("metadata"):
            message["metadata"] = params["metadata"]
        if params.get("thread_ts"):
            self._thread_into(message, channel=channel, thread_ts=str(params["thread_ts"]))
            if truthy(params.get("reply_broadcast")):
                message["subtype"] = "thread_broadcast"
        return self.store.add(channel, message)

    def _thread_into(self, message: Message, *, channel: str, thread_ts: str) -> None:
        parent = self.store.get(channel, thread_ts)
        if parent is not None and parent.get("thread_ts", thread_ts) != thread_ts:
            # A reply to a reply lands in the parent's thread, as in Slack.
            thread_ts = parent["thread_ts"]
            parent = self.store.get(channel, thread_ts)
        message["thread_ts"] = thread_ts
        if parent is not None and parent.get("user"):
            message["parent_user_id"] = parent["user"]

    def update(self, params: Params) -> dict[str, Any]:
        """chat.update (text over 4,000 characters is `msg_too_long`)."""
        channel, message = self._own_message(params, refusal="cant_update_message")
        check_message(
            text=params.get("text"),
            blocks=params.get("blocks"),
            markdown_text=params.get("markdown_text"),
            max_text=MAX_UPDATE_TEXT,
            require_content=False,
        )
        if isinstance(params.get("markdown_text"), str):
            message["text"] = params["markdown_text"]
            message["blocks"] = [{"type": "markdown", "text": params["markdown_text"]}]
        if "text" in params:
            message["text"] = params["text"]
        if "blocks" in params:
            message["blocks"] = params["blocks"]
        if params.get("metadata"):
            message["metadata"] = params["metadata"]
        message["edited"] = {"user": self.workspace.bot_user_id, "ts": self.store.new_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def delete(self, params: Params) -> dict[str, Any]:
        """chat.delete."""
        channel, message = self._own_message(params, refusal="cant_delete_message")
        self.store.remove(channel, message["ts"])
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def post_ephemeral(self, params: Params) -> dict[str, Any]:
        """chat.postEphemeral: kept in `ephemerals`, never in the conversation."""
        channel = require_channel(params, self.unknown_channels)
        if not params.get("user"):
            raise SlackError("user_not_in_channel")
        check_message(
            text=params.get("text"),
            blocks=params.get("blocks"),
            markdown_text=params.get("markdown_text"),
            max_text=MAX_POST_TEXT,
            require_content=not params.get("attachments"),
        )
        ts = self.store.new_ts()
        keys = ("user", "text", "blocks", "markdown_text", "thread_ts")
        self.ephemerals.append({"channel": channel, "ts": ts, **{k: params.get(k) for k in keys}})
        return {"ok": True, "message_ts": ts}

    def start_stream(self, params: Params) -> dict[str, Any]:
        """chat.startStream: a new bot message in a thread, open for appends."""
        channel = require_channel(params, self.unknown_channels)
        if not params.get("thread_ts"):
            raise SlackError("invalid_arguments", errors=["thread_ts is required"])
        # https://docs.slack.dev/reference/methods/chat.startStream/: recipient_user_id
        # and recipient_team_id are "required when streaming to channels" (not in DMs).
        if not channel.startswith("D") and not (
            params.get("recipient_user_id") and params.get("recipient_team_id")
        ):
            raise SlackError("invalid_arguments", errors=["recipient ids are required"])
        mode = params.get("task_display_mode") or "timeline"
        if mode not in DISPLAY_MODES:
            raise SlackError("invalid_arguments", errors=["invalid task_display_mode"])
        text, chunks = _stream_parts(params)
        self._check_stream_length(text)
        message = self.bot_message(
            channel=channel, params={"text": text, "thread_ts": params["thread_ts"]}
        )
        stream = Stream(channel, message["ts"], chunks=chunks, task_display_mode=mode)
        self.streams[(channel, message["ts"])] = stream
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def append_stream(self, params: Params) -> dict[str, Any]:
        """chat.appendStream: add markdown to an open stream."""
        stream, message = self._open_stream(params)
        self._extend(stream, message, params)
        return {"ok": True, "channel": stream.channel, "ts": stream.ts}

    def stop_stream(self, params: Params) -> dict[str, Any]:
        """chat.stopStream: last markdown, optional blocks and metadata; closes the stream."""
        stream, message = self._open_stream(params)
        blocks = params.get("blocks")
        check_message(
            text=None, blocks=blocks, markdown_text=None, max_text=0, require_content=False
        )
        self._extend(stream, message, params)
        # https://docs.slack.dev/reference/methods/chat.stopStream/: `blocks` "will be
        # rendered at the bottom of the finalized message", after the streamed markdown.
        message["blocks"] = [{"type": "markdown", "text": message["text"]}, *(blocks or [])]
        if params.get("metadata"):
            message["metadata"] = params["metadata"]
        stream.open = False
        return {
            "ok": True,
            "channel": stream.channel,
            "ts": stream.ts,
            "message": copy.deepcopy(message),
        }

    def _extend(self, stream: Stream, message: Message, params: Params) -> None:
        text, chunks = _stream_parts(params)
        self._check_stream_length(message["text"] + text)
        message["text"] += text
        stream.chunks.extend(chunks)

    @staticmethod
    def _check_stream_length(text: str) -> None:
        if len(text) > MAX_MARKDOWN_TOTAL:
            raise SlackError("msg_too_long")

    def _open_stream(self, params: Params) -> tuple[Stream, Message]:
        channel = require_channel(params, self.unknown_channels)
        ts = str(params.get("ts") or "")
        message = self.store.get(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        stream = self.streams.get((channel, ts))
        if stream is None or not stream.open:
            raise SlackError("message_not_in_streaming_state")
        return stream, message

    def _own_message(self, params: Params, *, refusal: str) -> tuple[str, Message]:
        channel = require_channel(params, self.unknown_channels)
        message = self.store.get(channel, str(params.get("ts") or ""))
        if message is None:
            raise SlackError("message_not_found")
        if message.get("bot_id") != self.workspace.bot_id:
            raise SlackError(refusal)
        return channel, message
