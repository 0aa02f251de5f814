"""The fake's assistant.threads.*: statuses, suggested prompts and thread titles.

As Slack's reference pages describe them:
- assistant.threads.setStatus (docs.slack.dev/reference/methods/assistant.threads.setStatus):
  `channel_id`, `thread_ts` and `status` required (an empty status clears it),
  `loading_messages` at most 10; chat:write.
- assistant.threads.setSuggestedPrompts (docs.slack.dev/reference/methods/
  assistant.threads.setSuggestedPrompts): `channel_id` and `prompts` required, "up to
  four suggested prompts", each with a `title` and a `message`; `title` for the list is
  optional. `thread_ts` is optional: "If not provided, the prompts will be set for the
  latest message in the channel", and "The thread_ts parameter should only be used in
  the legacy assistant messaging experience. Including it in a call for an agent app
  will cause the call to silently fail": the fake answers ok and shows nothing
  (`ignored_prompts`) when its app is an agent (`view = "agent"`, the default).
  Tier 4; assistant:write.
- assistant.threads.setTitle (docs.slack.dev/reference/methods/assistant.threads.setTitle):
  `channel_id`, `thread_ts` and `title` required; `invalid_thread_ts` for a thread the
  fake does not hold. Tier 4; assistant:write.

Where it differs: a list of more than four prompts, or a prompt without its title or
message, is `invalid_arguments` (the pages name no error for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.slack_chat import Handler, Params, require_channel
from tests.fakes.slack_limits import SlackError
from tests.fakes.slack_store import MessageStore

MAX_LOADING_MESSAGES = 10
MAX_PROMPTS = 4


@dataclass
class Suggested:
    """Prompts Slack shows: where, under which title, and which ones."""

    channel: str
    thread_ts: str  # "" when set for the channel (the agent's Messages tab)
    title: str | None
    prompts: list[dict[str, str]]


@dataclass
class AssistantApi:
    """assistant.threads.* over the message store."""

    store: MessageStore
    unknown_channels: set[str]
    view: Literal["agent", "assistant"] = "agent"
    status_calls: list[dict[str, Any]] = field(default_factory=list)
    suggested: list[Suggested] = field(default_factory=list)
    ignored_prompts: list[Params] = field(default_factory=list)  # silently failed
    titles: dict[tuple[str, str], str] = field(default_factory=dict)

    def methods(self) -> dict[str, Handler]:
        """Web API method names and their handlers."""
        return {
            "assistant.threads.setStatus": self.set_status,
            "assistant.threads.setSuggestedPrompts": self.set_suggested_prompts,
            "assistant.threads.setTitle": self.set_title,
        }

    def set_status(self, params: Params) -> dict[str, Any]:
        """assistant.threads.setStatus."""
        channel = require_channel(params, self.unknown_channels, key="channel_id")
        loading = params.get("loading_messages")
        if not params.get("thread_ts") or "status" not in params:
            raise SlackError("invalid_arguments")
        if isinstance(loading, list) and len(loading) > MAX_LOADING_MESSAGES:
            raise SlackError("invalid_arguments")
        self.status_calls.append(
            {
                "channel_id": channel,
                "thread_ts": params["thread_ts"],
                "status": params["status"],
                "loading_messages": loading,
            }
        )
        return {"ok": True}

    def set_suggested_prompts(self, params: Params) -> dict[str, Any]:
        """assistant.threads.setSuggestedPrompts."""
        channel = require_channel(params, self.unknown_channels, key="channel_id")
        prompts = params.get("prompts")
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= MAX_PROMPTS:
            raise SlackError("invalid_arguments")
        if not all(isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts):
            raise SlackError("invalid_arguments")
        thread_ts = str(params.get("thread_ts") or "")
        if thread_ts and self.view == "agent":
            self.ignored_prompts.append(params)
            return {"ok": True}
        if thread_ts and self.store.thread(channel, thread_ts) is None:
            raise SlackError("invalid_thread_ts")
        title = params.get("title")
        shown = [{"title": str(p["title"]), "message": str(p["message"])} for p in prompts]
        self.suggested.append(
            Suggested(channel, thread_ts, str(title) if title is not None else None, shown)
        )
        return {"ok": True}

    def set_title(self, params: Params) -> dict[str, Any]:
        """assistant.threads.setTitle."""
        channel = require_channel(params, self.unknown_channels, key="channel_id")
        thread_ts, title = params.get("thread_ts"), params.get("title")
        if not thread_ts or not isinstance(title, str) or not title:
            raise SlackError("invalid_arguments")
        if self.store.thread(channel, str(thread_ts)) is None:
            raise SlackError("invalid_thread_ts")
        self.titles[(channel, str(thread_ts))] = title
        return {"ok": True}
