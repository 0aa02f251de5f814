"""The Slack app manifest: exactly the scopes, events and features the bot uses.

Interactivity carries the feedback buttons, the modals and the "Ask MedGemma" message
shortcut. In Socket Mode it needs no request URL; over HTTP it uses the events URL,
where Bolt serves interaction payloads too. Shortcuts need the `commands` scope
("To make shortcuts available in Slack, your app must have the commands permission
scope", api.slack.com/interactivity/shortcuts#scope_permissions); views.open and
views.publish need none. tests/slack/test_manifest.py checks the scopes against every
Web API method the code calls.
"""

from __future__ import annotations

from typing import Any

BOT_SCOPES = (
    "app_mentions:read",
    "chat:write",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "files:read",
    "files:write",
    "users:read",
    "commands",
)
# Granted or not, the bot works: without users:read speakers are "Person 1", "Person 2",
# and events are checked for the workspace but not the app id (bots.info).
OPTIONAL_SCOPES = ("users:read",)
# Only the contact sheet uses it (files.getUploadURLExternal, files.completeUploadExternal),
# so it is required only while MEDGEMMA_CONTACT_SHEET is on.
SHEET_SCOPE = "files:write"
BOT_EVENTS = (
    "app_mention",
    "message.channels",
    "message.groups",
    "message.im",
    "message.mpim",
    "app_home_opened",
)
ASK_SHORTCUT = "ask_medgemma"  # callback_id of the "Ask MedGemma" message shortcut


def required_scopes(*, contact_sheet: bool) -> frozenset[str]:
    """The scopes the bot cannot do without, given whether it posts contact sheets."""
    required = set(BOT_SCOPES) - set(OPTIONAL_SCOPES)
    if not contact_sheet:
        required.discard(SHEET_SCOPE)
    return frozenset(required)


def manifest(*, name: str = "MedGemma", request_url: str | None = None) -> dict[str, Any]:
    """The manifest for Socket Mode, or for the HTTP Events API when a URL is given."""
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if request_url:
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "display_information": {
            "name": name,
            "description": "Answers questions about medical images with Google's MedGemma",
            "background_color": "#1d4f73",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
            "shortcuts": [
                {
                    "name": f"Ask {name}",
                    "type": "message",
                    "callback_id": ASK_SHORTCUT,
                    "description": "Ask about the images in this message",
                }
            ],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": request_url is None,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(*, name: str = "MedGemma", request_url: str | None = None) -> str:
    """The manifest as YAML, as pasted into "Create an app > From a manifest"."""
    import yaml

    return str(yaml.safe_dump(manifest(name=name, request_url=request_url), sort_keys=False))
