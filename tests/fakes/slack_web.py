"""The fake's Web API: parsing, tokens, scopes, fault injection and the non-chat methods."""

from __future__ import annotations

import asyncio
import copy
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.slack_assistant import AssistantApi
from tests.fakes.slack_chat import ChatApi, Handler, Params, require_channel, truthy
from tests.fakes.slack_files import FileHost
from tests.fakes.slack_limits import SlackError
from tests.fakes.slack_rates import RateLimits
from tests.fakes.slack_store import MessageStore, page, ts_key
from tests.fakes.slack_uploads import UPLOAD_METHODS, Uploads
from tests.fakes.slack_views import ViewsApi
from tests.fakes.slack_workspace import Workspace

DEFAULT_REPLIES_LIMIT = 15  # small on purpose, so that tests exercise pagination
DEFAULT_HISTORY_LIMIT = 100
MAX_PAGE = 1000

_JSON_FIELDS = ("blocks", "attachments", "metadata", "chunks", "loading_messages", "files", "view")
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.startStream": "chat:write",
    "chat.appendStream": "chat:write",
    "chat.stopStream": "chat:write",
    "assistant.threads.setStatus": "chat:write",
    "assistant.threads.setSuggestedPrompts": "assistant:write",
    "assistant.threads.setTitle": "assistant:write",
    "reactions.add": "reactions:write",
    "reactions.remove": "reactions:write",
    "files.info": "files:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "users.info": "users:read",
    "bots.info": "users:read",
}
_HISTORY_SCOPES = {"C": "channels:history", "G": "groups:history", "D": "im:history"}


@dataclass
class Fault:
    """An error to answer instead of running the method, `times` more times.

    With `after_effect` the method runs first and the error is answered anyway: a
    gateway that times out after Slack did the work, which is why a client may not
    simply retry a post after a 5xx.
    """

    error: str
    status: int
    retry_after: int | None
    times: int
    after_effect: bool = False

    def response(self) -> web.Response:
        """Slack's answer: a JSON error, with Retry-After when rate limited."""
        headers = {"Retry-After": str(self.retry_after)} if self.status == 429 else None
        body = {"ok": False, "error": self.error}
        return web.json_response(body, status=self.status, headers=headers)


async def read_params(request: web.Request) -> Params:
    """Query string, then a JSON or form body; JSON-in-a-string fields decoded."""
    params: Params = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise SlackError("invalid_json") from exc
            if isinstance(body, dict):
                params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                pass  # left as a string; the method rejects it as Slack would
    return params


def _between(
    messages: list[dict[str, Any]], *, oldest: Any, latest: Any, inclusive: bool
) -> list[dict[str, Any]]:
    """The messages whose ts lies between the bounds (given as ts strings)."""
    low = ts_key(str(oldest)) if oldest else None
    high = ts_key(str(latest)) if latest else None

    def inside(message: dict[str, Any]) -> bool:
        key = ts_key(message["ts"])
        above = low is None or key > low or (inclusive and key == low)
        below = high is None or key < high or (inclusive and key == high)
        return above and below

    return [m for m in messages if inside(m)]


def _bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    return None


def _limit(params: Params, default: int) -> int:
    try:
        limit = int(params.get("limit") or default)
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    return min(max(limit, 1), MAX_PAGE)


class WebApi:
    """Answers `/api/<method>` and records every call."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        store: MessageStore,
        file_host: FileHost,
        socket_url: Callable[[], str],
    ) -> None:
        self.workspace = workspace
        self.store = store
        self.file_host = file_host
        self.unknown_channels: set[str] = set()
        self.chat = ChatApi(
            workspace=workspace, store=store, unknown_channels=self.unknown_channels
        )
        self.uploads = Uploads(workspace=workspace, file_host=file_host, chat=self.chat)
        self.calls: list[tuple[str, Params]] = []
        self.assistant = AssistantApi(store=store, unknown_channels=self.unknown_channels)
        self.status_calls = self.assistant.status_calls
        self.reactions: dict[tuple[str, str], list[str]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.enforce_scopes = False
        self.repeat_thread_parent = True
        self.rates = RateLimits()
        self.views = ViewsApi(workspace=workspace)
        # Messages conversations.replies does not return yet: a read that lags behind
        # the event (Slack's reads are not guaranteed to include a message at once).
        self.unread: set[str] = set()
        self._faults: dict[str, deque[Fault]] = {}
        self._delays: dict[str, float] = {}
        self._socket_url = socket_url
        self._methods: dict[str, Handler] = {
            **self.chat.methods(),
            **self.uploads.methods(),
            **self.views.methods(),
            **self.assistant.methods(),
            "auth.test": self._auth_test,
            "apps.connections.open": lambda _: {"ok": True, "url": self._socket_url()},
            "conversations.replies": self._replies,
            "conversations.history": self._history,
            "files.info": self._files_info,
            "users.info": self._users_info,
            "bots.info": self._bots_info,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
        }
        self.add_user(workspace.bot_user_id, workspace.bot_name, is_bot=True)

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        display_name: str | None = None,
        is_bot: bool = False,
        locale: str = "en-US",
        is_admin: bool = False,
    ) -> dict[str, Any]:
        """Register a user for users.info; returns the user object.

        `is_admin` makes a workspace admin (users.info's `is_admin`; owners are admins too).
        """
        real_name = real_name if real_name is not None else name.title()
        display_name = display_name if display_name is not None else name
        user = {
            "id": user_id,
            "team_id": self.workspace.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": is_admin,
            "is_owner": False,
            "tz": "Europe/London",
            "locale": locale,
            "profile": {
                "display_name": display_name,
                "display_name_normalized": display_name,
                "real_name": real_name,
                "real_name_normalized": real_name,
                "team": self.workspace.team_id,
            },
        }
        self.users[user_id] = user
        return copy.deepcopy(user)

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int | None = None,
        retry_after: int = 1,
        times: int = 1,
        after_effect: bool = False,
    ) -> None:
        """Answer the next `times` calls of `method` with `error` (HTTP 429 if ratelimited)."""
        if status is None:
            status = 429 if error == "ratelimited" else 200
        fault = Fault(
            error=error,
            status=status,
            retry_after=retry_after,
            times=times,
            after_effect=after_effect,
        )
        self._faults.setdefault(method, deque()).append(fault)

    def delay(self, method: str, seconds: float) -> None:
        """Wait this long before answering every later call of `method` (0 to stop)."""
        self._delays[method] = seconds

    def calls_to(self, method: str) -> list[Params]:
        """The params of every call of `method`, in order."""
        return [params for name, params in self.calls if name == method]

    async def handle(self, request: web.Request) -> web.Response:
        """One Web API request."""
        method = request.match_info["method"]
        try:
            params = await read_params(request)
        except SlackError as exc:
            return web.json_response(exc.body())
        token = _bearer(request.headers.get("Authorization")) or params.get("token")
        params.pop("token", None)
        self.calls.append((method, copy.deepcopy(params)))
        if self._delays.get(method):
            await asyncio.sleep(self._delays[method])
        fault = self._take_fault(method)
        if fault is not None and not fault.after_effect:
            return fault.response()
        handler = self._methods.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        channel = params.get("channel") or params.get("channel_id")
        retry_after = self.rates.check(
            method, channel=channel if isinstance(channel, str) else None
        )
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers=headers
            )
        scopes = ",".join(self.workspace.scopes)
        headers = {"x-oauth-scopes": scopes} if token == self.workspace.bot_token else {}
        try:
            self._authorize(method, token, params)
            body = handler(params)
        except SlackError as exc:
            body = exc.body()
        if fault is not None:  # the work is done, the answer is lost
            return fault.response()
        return web.json_response(body, headers=headers)

    def _take_fault(self, method: str) -> Fault | None:
        faults = self._faults.get(method)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.popleft()
        return fault

    def _authorize(self, method: str, token: Any, params: Params) -> None:
        if not token:
            raise SlackError("not_authed")
        app_method = method in _APP_TOKEN_METHODS
        wanted = self.workspace.app_token if app_method else self.workspace.bot_token
        if token != wanted:
            known = token in (self.workspace.bot_token, self.workspace.app_token)
            raise SlackError("not_allowed_token_type" if known else "invalid_auth")
        needed = _SCOPES.get(method)
        if method.startswith("conversations."):
            needed = _HISTORY_SCOPES.get(str(params.get("channel", ""))[:1], "channels:history")
        checked = self.enforce_scopes or method in UPLOAD_METHODS  # see slack_uploads.py
        if checked and needed and needed not in self.workspace.scopes:
            raise SlackError(
                "missing_scope", needed=needed, provided=",".join(self.workspace.scopes)
            )

    def _auth_test(self, _: Params) -> dict[str, Any]:
        return {
            "ok": True,
            "url": self.workspace.url,
            "team": self.workspace.team_name,
            "user": self.workspace.bot_name,
            "team_id": self.workspace.team_id,
            "user_id": self.workspace.bot_user_id,
            "bot_id": self.workspace.bot_id,
            "is_enterprise_install": False,
        }

    def _replies(self, params: Params) -> dict[str, Any]:
        # conversations.replies (docs.slack.dev/reference/methods/conversations.replies):
        # the thread oldest first, its replies between `oldest` and `latest` (each bound
        # excluded unless `inclusive`); the parent leads every page.
        channel = require_channel(params, self.unknown_channels)
        ts = str(params.get("ts") or "")
        thread = self.store.thread(channel, ts) if ts else None
        if thread is None:
            raise SlackError("thread_not_found")
        thread = [m for m in thread if m["ts"] not in self.unread]
        if params.get("oldest") or params.get("latest"):
            bounds = {k: params.get(k) for k in ("oldest", "latest")}
            inside = _between(thread, **bounds, inclusive=truthy(params.get("inclusive")))
            thread = [thread[0], *(m for m in inside if m is not thread[0])]
        result = page(
            thread, cursor=params.get("cursor"), limit=_limit(params, DEFAULT_REPLIES_LIMIT)
        )
        if result is None:
            raise SlackError("invalid_cursor")
        messages, next_cursor = result
        root = thread[0]
        if (
            self.repeat_thread_parent
            and root.get("thread_ts", root["ts"]) == root["ts"]
            and messages[0]["ts"] != root["ts"]
        ):
            messages.insert(0, copy.deepcopy(root))
        return self._messages_page(params, messages, next_cursor)

    def _history(self, params: Params) -> dict[str, Any]:
        # conversations.history (docs.slack.dev/reference/methods/conversations.history):
        # top-level messages newest first, between `oldest` (default 0) and `latest`
        # (default now), each bound excluded unless `inclusive`.
        channel = require_channel(params, self.unknown_channels)
        tops = _between(
            self.store.top_level(channel),
            oldest=params.get("oldest"),
            latest=params.get("latest"),
            inclusive=truthy(params.get("inclusive")),
        )
        result = page(
            tops, cursor=params.get("cursor"), limit=_limit(params, DEFAULT_HISTORY_LIMIT)
        )
        if result is None:
            raise SlackError("invalid_cursor")
        return {**self._messages_page(params, *result), "pin_count": 0}

    @staticmethod
    def _messages_page(
        params: Params, messages: list[dict[str, Any]], next_cursor: str
    ) -> dict[str, Any]:
        if not truthy(params.get("include_all_metadata")):
            for message in messages:
                message.pop("metadata", None)
        return {
            "ok": True,
            "messages": messages,
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _files_info(self, params: Params) -> dict[str, Any]:
        if self.file_host.denied(str(params.get("file") or "")):
            raise SlackError("access_denied")
        info = self.file_host.info(str(params.get("file") or ""))
        if info is None:
            raise SlackError("file_not_found")
        return {"ok": True, "file": info, "comments": [], "response_metadata": {"next_cursor": ""}}

    def _bots_info(self, params: Params) -> dict[str, Any]:
        """bots.info (docs.slack.dev/reference/methods/bots.info): the bot and its app_id."""
        workspace = self.workspace
        if params.get("bot") != workspace.bot_id:
            raise SlackError("bot_not_found")
        bot = {
            "id": workspace.bot_id,
            "deleted": False,
            "name": workspace.bot_name,
            "updated": 1_700_000_000,
            "app_id": workspace.app_id,
            "user_id": workspace.bot_user_id,
            "icons": {},
        }
        return {"ok": True, "bot": bot}

    def _users_info(self, params: Params) -> dict[str, Any]:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        shown = copy.deepcopy(user)
        # users.info returns `locale` only when asked (include_locale, docs.slack.dev
        # /reference/methods/users.info).
        if not truthy(params.get("include_locale")):
            shown.pop("locale", None)
        return {"ok": True, "user": shown}

    def _reaction(self, params: Params) -> tuple[list[str], str]:
        channel = require_channel(params, self.unknown_channels)
        if not params.get("timestamp"):
            raise SlackError("no_item_specified")
        if not params.get("name"):
            raise SlackError("invalid_name")
        names = self.reactions.setdefault((channel, str(params["timestamp"])), [])
        return names, str(params["name"])

    def _reactions_add(self, params: Params) -> dict[str, Any]:
        names, name = self._reaction(params)
        if name in names:
            raise SlackError("already_reacted")
        names.append(name)
        return {"ok": True}

    def _reactions_remove(self, params: Params) -> dict[str, Any]:
        names, name = self._reaction(params)
        if name not in names:
            raise SlackError("no_reaction")
        names.remove(name)
        return {"ok": True}
