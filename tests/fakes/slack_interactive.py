"""What a person's clicks, shortcuts, submissions and Home tab visits send to the app.

Payloads are shaped like Slack's reference examples: `block_actions`
(docs.slack.dev/reference/interaction-payloads/block_actions-payload: `container`,
`channel`, `message` (not for ephemeral messages), `actions`, a fresh `trigger_id`),
`message_action` (docs.slack.dev/reference/interaction-payloads/shortcuts-interaction-
payload: `callback_id`, `channel`, `message_ts`, the whole `message`), `view_submission`
(docs.slack.dev/reference/interaction-payloads/view-interactions-payload: the view with
`state.values[block_id][action_id]`) and the `app_home_opened` event
(docs.slack.dev/reference/events/app_home_opened: `user`, `channel`, `tab`, and `view`
once one was published; with `agent_view` the Messages tab is the agent's conversation,
opened with tab "messages", docs.slack.dev/ai/migrating-to-agent-messaging) and the legacy
Assistant view's `assistant_thread_started` (docs.slack.dev/reference/events/
assistant_thread_started: `assistant_thread` with `user_id`, `context`, `channel_id`,
`thread_ts`), whose thread root is stored as Slack makes it, a message with subtype
`assistant_app_thread` (docs.slack.dev/reference/events/message/assistant_app_thread).

They reach the app as Slack sends them: in Socket Mode an `interactive` envelope
(docs.slack.dev/apis/events-api/using-socket-mode: "type": "interactive",
`accepts_response_payload`), over HTTP a form-encoded `payload=<JSON>` body signed like
any request ("Verifying requests from Slack"). Building a payload issues its trigger
(`trigger_age_s` makes one that is already old).
"""

from __future__ import annotations

import copy
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlencode

from tests.fakes.slack_chat import ChatApi
from tests.fakes.slack_events import next_event_ts
from tests.fakes.slack_store import MessageStore
from tests.fakes.slack_views import ViewsApi
from tests.fakes.slack_workspace import Workspace

Payload = dict[str, Any]
Side = Literal["positive", "negative"]


def interactive_envelope(payload: Payload, *, envelope_id: str | None = None) -> dict[str, Any]:
    """The Socket Mode envelope of an interaction payload."""
    return {
        "envelope_id": envelope_id or str(uuid.uuid4()),
        "payload": payload,
        "type": "interactive",
        "accepts_response_payload": payload.get("type") in ("view_submission", "block_suggestion"),
    }


def interactive_body(payload: Payload) -> bytes:
    """The HTTP body of an interaction: `payload=` and the JSON, form-encoded."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def _elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every interactive element of some blocks, with its block's id."""
    for block in blocks:
        block_id = str(block.get("block_id") or "")
        for element in block.get("elements") or []:
            if isinstance(element, dict) and "action_id" in element:
                yield block_id, element
        if isinstance(block.get("accessory"), dict):
            yield block_id, block["accessory"]


def _action(block_id: str, element: dict[str, Any], side: Side | None) -> dict[str, Any]:
    """The `actions[0]` of a click on `element` (for feedback buttons, on one side)."""
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "feedback_buttons":
        if side is None:
            raise ValueError("say which feedback button is clicked: side='positive'|'negative'")
        button = element[f"{side}_button"]
        action.update(text=copy.deepcopy(button["text"]), value=button["value"])
    else:
        action.update(text=copy.deepcopy(element.get("text")), value=element.get("value"))
    return action


def _state_value(element: dict[str, Any], given: Any) -> dict[str, Any]:
    """What Slack reports in `state.values` for an input element."""
    kind = element["type"]
    if kind == "static_select":
        chosen = next((o for o in element.get("options") or [] if o["value"] == given), None)
        if given is not None and chosen is None:
            raise ValueError(f"{given!r} is not an option of {element['action_id']}")
        return {"type": kind, "selected_option": copy.deepcopy(chosen)}
    return {"type": kind, "value": given}


class Interactions:
    """Builds interaction payloads from the fake's messages and views."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        store: MessageStore,
        chat: ChatApi,
        views: ViewsApi,
        users: dict[str, dict[str, Any]],
    ) -> None:
        self.workspace = workspace
        self.store = store
        self.chat = chat
        self.views = views
        self.users = users

    def click(
        self,
        *,
        channel: str,
        ts: str,
        action_id: str,
        user: str = "U1",
        side: Side | None = None,
        trigger_age_s: float = 0.0,
    ) -> Payload:
        """A `block_actions` payload: `user` clicks `action_id` on a message or ephemeral.

        An ephemeral message is found by its `message_ts` among `fake.ephemerals` (only
        its recipient can click it); its payload carries no `message`, as Slack's don't.
        """
        message, ephemeral = self._clickable(channel, ts, user)
        block_id, element = next(
            (
                (b, e)
                for b, e in _elements(message.get("blocks") or [])
                if e["action_id"] == action_id
            ),
            (None, None),
        )
        if element is None or block_id is None:
            raise ValueError(f"no element {action_id!r} in message {ts}")
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        }
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        payload = {
            **self._common("block_actions", user, trigger_age_s),
            "container": container,
            "channel": self._channel(channel),
            "state": {"values": {}},
            "response_url": self._response_url("actions"),
            "actions": [_action(block_id, element, side)],
        }
        if not ephemeral:
            payload["message"] = copy.deepcopy(message)
        return payload

    def message_action(
        self,
        *,
        channel: str,
        ts: str,
        callback_id: str,
        user: str = "U1",
        trigger_age_s: float = 0.0,
    ) -> Payload:
        """A `message_action` payload: `user` picks a message shortcut on a stored message."""
        message = self.store.get(channel, ts)
        if message is None:
            raise ValueError(f"no message {ts} in {channel}")
        return {
            **self._common("message_action", user, trigger_age_s),
            "action_ts": f"{time.time():.6f}",
            "callback_id": callback_id,
            "channel": self._channel(channel),
            "message_ts": ts,
            "message": {"type": "message", **copy.deepcopy(message)},
            "response_url": self._response_url("app"),
        }

    def submit(self, view_id: str, *, values: dict[str, Any], user: str | None = None) -> Payload:
        """A `view_submission` payload: the modal's inputs filled in by action_id.

        A required input left empty raises ValueError: Slack's client would not submit.
        """
        stored = self.views.views[view_id]
        view = copy.deepcopy(stored.view)
        state: dict[str, dict[str, Any]] = {}
        for block in view["blocks"]:
            if block.get("type") != "input":
                continue
            element = block["element"]
            given = values.get(element["action_id"])
            if given in (None, "") and not block.get("optional"):
                raise ValueError(f"{element['action_id']} is required")
            state.setdefault(block["block_id"], {})[element["action_id"]] = _state_value(
                element, given
            )
        view["state"] = {"values": state}
        return {
            **self._common("view_submission", user or stored.user, 0.0),
            "view": view,
            "response_urls": [],
        }

    def home_opened(self, *, user: str, tab: str = "home") -> dict[str, Any]:
        """The `app_home_opened` event of `user` opening the app's Home (or Messages) tab."""
        ts = next_event_ts()
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": "D" + user[1:],
            "tab": tab,
            "event_ts": ts,
        }
        view = self.views.home_view(user)
        if tab == "home" and view is not None:
            event["view"] = view
        return event

    def assistant_thread_started(self, *, user: str, context_channel: str = "") -> dict[str, Any]:
        """A new thread in the legacy Assistant view: its root stored, the event returned."""
        channel = "D" + user[1:]
        ts = self.store.new_ts()
        title = "New Assistant Thread"
        self.store.add(
            channel,
            {
                "type": "message",
                "subtype": "assistant_app_thread",
                "user": user,
                "text": title,
                "ts": ts,
                "thread_ts": ts,
                "team": self.workspace.team_id,
                "assistant_app_thread": {"title": title, "title_blocks": [], "artifacts": []},
            },
        )
        context = {"channel_id": context_channel, "team_id": self.workspace.team_id}
        return {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": user,
                "context": {**context, "enterprise_id": None} if context_channel else {},
                "channel_id": channel,
                "thread_ts": ts,
            },
            "event_ts": next_event_ts(),
        }

    def _clickable(self, channel: str, ts: str, user: str) -> tuple[dict[str, Any], bool]:
        stored = self.store.get(channel, ts)
        if stored is not None:
            return stored, False
        for ephemeral in self.chat.ephemerals:
            if ephemeral["channel"] == channel and ephemeral["ts"] == ts:
                if ephemeral["user"] != user:
                    raise ValueError("only its recipient sees an ephemeral message")
                return {k: v for k, v in ephemeral.items() if v is not None}, True
        raise ValueError(f"no message {ts} in {channel}")

    def _common(self, kind: str, user: str, trigger_age_s: float) -> Payload:
        workspace = self.workspace
        name = str((self.users.get(user) or {}).get("name") or user.lower())
        return {
            "type": kind,
            "token": workspace.verification_token,
            "team": {"id": workspace.team_id, "domain": workspace.domain},
            "user": {"id": user, "username": name, "name": name, "team_id": workspace.team_id},
            "api_app_id": workspace.app_id,
            "trigger_id": self.views.issue_trigger(user, age_s=trigger_age_s),
            "is_enterprise_install": False,
            "enterprise": None,
        }

    @staticmethod
    def _channel(channel: str) -> dict[str, str]:
        name = "directmessage" if channel.startswith("D") else f"channel-{channel.lower()}"
        return {"id": channel, "name": name}

    def _response_url(self, kind: str) -> str:
        # Never called by the bot: it answers through the Web API.
        team = self.workspace.team_id
        return f"https://hooks.slack.com/{kind}/{team}/{secrets.randbelow(10**12)}/{secrets.token_hex(12)}"
