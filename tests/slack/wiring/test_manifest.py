"""The manifest's scopes are exactly what the code needs: none missing, none unused.

Every Web API method the code under bot/ calls (found in its syntax tree, through
slack_sdk's client methods) is mapped to the bot scope its reference page lists
(docs.slack.dev/reference/methods/<method>); the subscribed events and the features
add theirs. A method missing from the table fails the test: look its scope up and add
it here, and to the manifest if it is new.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.wiring import manifest

ROOT = Path(__file__).resolve().parents[3]
HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "apps.connections.open": (),  # the app-level token's connections:write, not a bot scope
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.startStream": ("chat:write",),
    "chat.appendStream": ("chat:write",),
    "chat.stopStream": ("chat:write",),
    # chat:write since 2026-03-05 (docs.slack.dev/changelog/2026/03/05/set-status-scope-update)
    "assistant.threads.setStatus": ("chat:write",),
    # docs.slack.dev/reference/methods/assistant.threads.setSuggestedPrompts and .setTitle
    "assistant.threads.setSuggestedPrompts": ("assistant:write",),
    "assistant.threads.setTitle": ("assistant:write",),
    # One history scope per kind of conversation: the bot reads public and private
    # channels, DMs and group DMs, each with its own.
    "conversations.replies": HISTORY,
    "conversations.history": HISTORY,
    "files.info": ("files:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "users.info": ("users:read",),
    "bots.info": ("users:read",),  # the app's id, to drop other apps' events
    "reactions.add": ("reactions:write",),
    "reactions.remove": ("reactions:write",),
    "views.open": (),  # "No scopes required"
    "views.publish": (),
    "views.update": (),
    "views.push": (),
}
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_mention": ("app_mentions:read",),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
    "message.mpim": ("mpim:history",),
    "app_home_opened": (),
    # docs.slack.dev/reference/events/assistant_thread_started (the legacy Assistant view)
    "assistant_thread_started": ("assistant:write",),
}
# Beyond Web API calls: file downloads (url_private with the bot token, files.py) need
# files:read; message shortcuts need commands (api.slack.com/interactivity/shortcuts).
FEATURE_SCOPES = {"downloads": ("files:read",), "shortcuts": ("commands",)}
# slack_sdk helpers that call several methods through other objects.
HELPERS = {
    "chat_stream": ("chat.startStream", "chat.appendStream", "chat.stopStream"),
    "files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal"),
}
_API_CALL = re.compile(r"""api_call\(\s*["']([\w.]+)["']""")


def web_api_method(name: str) -> tuple[str, ...]:
    """The Web API methods a slack_sdk client method calls ("" for other attributes)."""
    if name in HELPERS:
        return HELPERS[name]
    attribute = getattr(AsyncWebClient, name, None)
    if attribute is None or not callable(attribute) or name.startswith("_"):
        return ()
    return tuple(_API_CALL.findall(inspect.getsource(attribute)))


def methods_called() -> dict[str, set[str]]:
    """Web API method -> the files under bot/ that call it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            methods = web_api_method(name) if name != "api_call" else ()
            if name == "api_call" and node.args and isinstance(node.args[0], ast.Constant):
                methods = (str(node.args[0].value),)
            for method in methods:
                found.setdefault(method, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_code_calls_the_web_api_methods_we_know_it_calls() -> None:
    called = methods_called()
    # The search itself works: these calls are certainly there.
    assert {"chat.postMessage", "conversations.replies", "views.publish", "views.open"} <= set(
        called
    )
    unknown = sorted(set(called) - set(METHOD_SCOPES))
    assert unknown == [], f"add the documented scope of {unknown} to METHOD_SCOPES"


def test_manifest_scopes_are_exactly_what_the_code_uses() -> None:
    needed: dict[str, list[str]] = {}
    for method, files in methods_called().items():
        for scope in METHOD_SCOPES.get(method, ()):
            needed.setdefault(scope, []).append(f"{method} ({', '.join(sorted(files))})")
    for event in {e for view in manifest.VIEWS for e in manifest.bot_events(view)}:
        for scope in EVENT_SCOPES[event]:
            needed.setdefault(scope, []).append(f"the {event} event")
    features = {"downloads": True, "shortcuts": bool(manifest.manifest()["features"]["shortcuts"])}
    for feature, scopes in FEATURE_SCOPES.items():
        for scope in scopes if features[feature] else ():
            needed.setdefault(scope, []).append(feature)
    granted = set(manifest.BOT_SCOPES)
    assert sorted(set(needed) - granted) == [], "scopes the code needs but the manifest lacks"
    assert sorted(granted - set(needed)) == [], "scopes the manifest asks for but nothing uses"


def test_every_event_the_code_listens_to_is_subscribed() -> None:
    listened = set()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "event"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                listened.add(str(node.args[0].value))
    subscribed = {
        event.split(".", 1)[0] for view in manifest.VIEWS for event in manifest.bot_events(view)
    }
    assert listened == subscribed


def test_the_contact_sheet_is_the_only_user_of_files_write() -> None:
    assert "files:write" in manifest.manifest()["oauth_config"]["scopes"]["bot"]
    assert "files:write" in manifest.required_scopes(contact_sheet=True)
    assert manifest.required_scopes(contact_sheet=True) - manifest.required_scopes(
        contact_sheet=False
    ) == {"files:write"}


def test_users_read_stays_optional() -> None:
    assert "users:read" in manifest.BOT_SCOPES
    assert "users:read" not in manifest.required_scopes(contact_sheet=True)
