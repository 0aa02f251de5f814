"""The fake's views.*: modals opened with a trigger, Home tabs published, views updated.

As Slack's reference pages describe them:
- views.open (docs.slack.dev/reference/methods/views.open) exchanges a `trigger_id`
  (or `interactivity_pointer`) from an interaction for a modal. Triggers expire 3
  seconds after they are issued ("Handling user interaction": trigger_id) and work
  once: unknown `invalid_trigger_id`, too old `expired_trigger_id`, used
  `exchanged_trigger_id`.
- views.publish (docs.slack.dev/reference/methods/views.publish) needs `user_id` and a
  `home` view; `not_enabled` when the app's Home tab is off.
- views.update (docs.slack.dev/reference/methods/views.update) needs `view_id` or
  `external_id`: `not_found`, `hash_conflict` when the given hash is not the view's.
- Views are checked as "Modal views" and "Home tab views" (docs.slack.dev/reference/
  views/modal-views, .../home-tab-views) say: `type`; a modal's `title` (plain_text, 24
  characters) is required, `submit` too when an input block is there, `submit` and
  `close` 24 characters; at most 100 blocks; `private_metadata` 3,000 characters,
  `callback_id` and `external_id` 255; 250 kB in all (`view_too_large`). The blocks
  are checked as in messages (`slack_limits`).
- All four methods are Tier 4 (`slack_rates`); no scope is needed.

Where it differs: invalid views get `invalid_arguments` with
`response_metadata.messages` in Slack's format; the wording is a best guess. Views
stay open until a test closes them (`close`): nobody clicks Cancel.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.slack_chat import Handler, Params
from tests.fakes.slack_limits import MAX_VIEW_BLOCKS, SlackError, block_errors, too_long
from tests.fakes.slack_workspace import Workspace

TRIGGER_TTL_S = 3.0
MAX_MODAL_TEXT = 24  # title, submit, close
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_ID_FIELD = 255  # callback_id, external_id
MAX_VIEW_BYTES = 250_000


@dataclass
class Trigger:
    """A trigger_id handed to the app in an interaction payload."""

    user: str
    issued_at: float
    used: bool = False


@dataclass
class OpenView:
    """A view as Slack keeps it: the object it returns, and whose it is."""

    view: dict[str, Any]
    user: str
    open: bool = True


def invalid(messages: list[str]) -> SlackError:
    """Slack's answer to a view that breaks its rules."""
    return SlackError(
        "invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]}
    )


def _plain_text_errors(obj: Any, name: str, *, required: bool) -> list[str]:
    if obj is None:
        return [f"missing required field: {name} [json-pointer:/view]"] if required else []
    if not isinstance(obj, dict) or obj.get("type") != "plain_text":
        return [f"must be a plain_text text object [json-pointer:/view/{name}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"missing required field: text [json-pointer:/view/{name}]"]
    if len(text) > MAX_MODAL_TEXT:
        return [too_long(MAX_MODAL_TEXT, f"/view/{name}/text")]
    return []


def view_errors(view: Any, *, kind: str) -> list[str]:
    """Every rule a view of `kind` ("modal" or "home") breaks; empty when it is valid."""
    if not isinstance(view, dict):
        return ["invalid `view` [json-pointer:/view]"]
    if view.get("type") != kind:
        return [f"must be '{kind}' [json-pointer:/view/type]"]
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return ["missing required field: blocks [json-pointer:/view]"]
    errors = block_errors(blocks, max_blocks=MAX_VIEW_BLOCKS, at="/view/blocks")
    if kind == "modal":
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        errors += _plain_text_errors(view.get("title"), "title", required=True)
        errors += _plain_text_errors(view.get("submit"), "submit", required=has_input)
        errors += _plain_text_errors(view.get("close"), "close", required=False)
    for key, limit in (
        ("private_metadata", MAX_PRIVATE_METADATA),
        ("callback_id", MAX_VIEW_ID_FIELD),
        ("external_id", MAX_VIEW_ID_FIELD),
    ):
        value = view.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(f"must be a string [json-pointer:/view/{key}]")
        elif isinstance(value, str) and len(value) > limit:
            errors.append(too_long(limit, f"/view/{key}"))
    return errors


@dataclass
class ViewsApi:
    """views.open / publish / update over triggers the fake's interactions issue."""

    workspace: Workspace
    clock: Callable[[], float] = time.monotonic
    home_tab_enabled: bool = True
    triggers: dict[str, Trigger] = field(default_factory=dict)
    views: dict[str, OpenView] = field(default_factory=dict)
    home: dict[str, str] = field(default_factory=dict)  # user -> the id of their Home view

    def methods(self) -> dict[str, Handler]:
        """Web API method names and their handlers."""
        return {
            "views.open": self.open_view,
            "views.publish": self.publish,
            "views.update": self.update,
        }

    def issue_trigger(self, user: str, *, age_s: float = 0.0) -> str:
        """A trigger_id as an interaction payload carries it (`age_s` old already)."""
        trigger = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self.triggers[trigger] = Trigger(user=user, issued_at=self.clock() - age_s)
        return trigger

    def modals(self, user: str | None = None) -> list[dict[str, Any]]:
        """Open modals (copies), oldest first; only `user`'s when given."""
        return [
            copy.deepcopy(v.view)
            for v in self.views.values()
            if v.open and v.view["type"] == "modal" and (user is None or v.user == user)
        ]

    def owner(self, view_id: str) -> str:
        """The user a view was opened or published for."""
        return self.views[view_id].user

    def close(self, view_id: str) -> None:
        """The person closed the modal (or Slack did, after an empty acknowledgement)."""
        self.views[view_id].open = False

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The Home tab `user` sees now (a copy), or None before any views.publish."""
        view_id = self.home.get(user)
        return copy.deepcopy(self.views[view_id].view) if view_id else None

    def open_view(self, params: Params) -> dict[str, Any]:
        """views.open: a modal for the person whose interaction issued the trigger."""
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise invalid(["one of `trigger_id`, `interactivity_pointer` is required"])
        trigger = self.triggers.get(str(trigger_id))
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self.clock() - trigger.issued_at > TRIGGER_TTL_S:
            raise SlackError("expired_trigger_id")
        self._check(params.get("view"), kind="modal")
        trigger.used = True
        return {"ok": True, "view": self._store(params["view"], user=trigger.user)}

    def publish(self, params: Params) -> dict[str, Any]:
        """views.publish: the user's Home tab, replaced."""
        user = params.get("user_id")
        if not isinstance(user, str) or user[:1] not in ("U", "W"):
            raise invalid(["invalid `user_id`"])
        if not self.home_tab_enabled:
            raise SlackError("not_enabled")
        self._check(params.get("view"), kind="home")
        current = self.home.get(user)
        if current and params.get("hash") and params["hash"] != self.views[current].view["hash"]:
            raise SlackError("hash_conflict")
        stored = self._store(params["view"], user=user, view_id=current)
        self.home[user] = stored["id"]
        return {"ok": True, "view": stored}

    def update(self, params: Params) -> dict[str, Any]:
        """views.update: a view replaced by id (or external id), its kind unchanged."""
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (
                    i
                    for i, v in self.views.items()
                    if v.view["external_id"] == params["external_id"]
                ),
                None,
            )
            if view_id is None:
                raise SlackError("not_found")
        if not view_id:
            raise invalid(["one of `view_id`, `external_id` is required"])
        current = self.views.get(str(view_id))
        if current is None:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != current.view["hash"]:
            raise SlackError("hash_conflict")
        self._check(params.get("view"), kind=current.view["type"])
        return {
            "ok": True,
            "view": self._store(params["view"], user=current.user, view_id=current.view["id"]),
        }

    @staticmethod
    def _check(view: Any, *, kind: str) -> None:
        if isinstance(view, dict) and len(json.dumps(view)) > MAX_VIEW_BYTES:
            raise SlackError("view_too_large")
        errors = view_errors(view, kind=kind)
        if errors:
            raise invalid(errors)

    def _store(
        self, view: dict[str, Any], *, user: str, view_id: str | None = None
    ) -> dict[str, Any]:
        """The view object Slack returns (and later sends back in payloads)."""
        view_id = view_id or "V" + secrets.token_hex(5).upper()
        workspace = self.workspace
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": workspace.team_id,
            "type": view["type"],
            "blocks": copy.deepcopy(view["blocks"]),
            "private_metadata": view.get("private_metadata") or "",
            "callback_id": view.get("callback_id") or "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close")),
            "notify_on_close": bool(view.get("notify_on_close")),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": workspace.app_id,
            "external_id": view.get("external_id") or "",
            "app_installed_team_id": workspace.team_id,
            "bot_id": workspace.bot_id,
        }
        self.views[view_id] = OpenView(view=stored, user=user)
        return copy.deepcopy(stored)
