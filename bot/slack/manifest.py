"""The Slack app manifest: exactly the scopes and events the bot uses."""

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
)
# Granted or not, the bot works: without users:read speakers are "Person 1", "Person 2".
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
)


def required_scopes(*, contact_sheet: bool) -> frozenset[str]:
    """The scopes the bot cannot do without, given whether it posts contact sheets."""
    required = set(BOT_SCOPES) - set(OPTIONAL_SCOPES)
    if not contact_sheet:
        required.discard(SHEET_SCOPE)
    return frozenset(required)


def manifest(*, name: str = "MedGemma", request_url: str | None = None) -> dict[str, Any]:
    """The manifest for Socket Mode, or for the HTTP Events API when a URL is given."""
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    if request_url:
        events["request_url"] = request_url
    return {
        "display_information": {
            "name": name,
            "description": "Answers questions about medical images with Google's MedGemma",
            "background_color": "#1d4f73",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": False,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": {"is_enabled": False},
            "org_deploy_enabled": False,
            "socket_mode_enabled": request_url is None,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(*, name: str = "MedGemma", request_url: str | None = None) -> str:
    """The manifest as YAML, as pasted into "Create an app > From a manifest"."""
    import yaml

    return str(yaml.safe_dump(manifest(name=name, request_url=request_url), sort_keys=False))
