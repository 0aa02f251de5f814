"""The Slack app manifest: exactly the scopes, events and features the bot uses.

Interactivity carries the feedback buttons, the stop button, the modals and the "Ask
MedGemma" message shortcut. In Socket Mode it needs no request URL; over HTTP it uses
the events URL, where Bolt serves interaction payloads too. Shortcuts need the
`commands` scope ("To make shortcuts available in Slack, your app must have the
commands permission scope", api.slack.com/interactivity/shortcuts#scope_permissions);
views.open and views.publish need none. tests/slack/wiring/test_manifest.py checks the
scopes against every Web API method the code calls.

The agent entry point (docs.slack.dev/ai/migrating-to-agent-messaging): new apps declare
`agent_view` (`agent_description`, up to four `suggested_prompts`); the Messages tab is
then the agent's conversation, opened as `app_home_opened` with tab "messages".
Workspaces whose app still uses the Assistant experience keep `assistant_view`
(`assistant_description`), whose new threads start with `assistant_thread_started`:
`--view assistant` prints that (MEDGEMMA_SLACK_VIEW=assistant tells the bot). Both
views' prompt calls and titles need `assistant:write`.

Slack rejects a manifest beyond its schema (github.com/slackapi/manifest-schema,
schemas/manifest.schema.1.0.0.json): an app name of 1 to 35 characters, a bot display
name up to 80, a shortcut name up to 24 (so "Ask <name>" becomes "Ask about images"
when it would not fit), an agent description up to 300, at most 4 suggested prompts,
and request URLs starting with http(s)://; the Events API wants https, so only that is
accepted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.slack.surfaces.names import shortcut_name

View = Literal["agent", "assistant"]
VIEWS: tuple[View, ...] = ("agent", "assistant")

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
    "assistant:write",
)
# Granted or not, the bot works: without users:read speakers are "Person 1", "Person 2",
# and events are checked for the workspace but not the app id (bots.info); without
# assistant:write the DM has no suggested prompts and no thread titles.
OPTIONAL_SCOPES = ("users:read", "assistant:write")
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
# The Assistant experience starts its threads with this event; the Agent experience
# replaces it with app_home_opened (tab "messages").
VIEW_EVENTS: dict[View, tuple[str, ...]] = {
    "agent": (),
    "assistant": ("assistant_thread_started",),
}
ASK_SHORTCUT = "ask_medgemma"  # callback_id of the "Ask MedGemma" message shortcut
DEFAULT_NAME = "MedGemma"
DESCRIPTION = "Answers questions about medical images with Google's MedGemma"
AGENT_DESCRIPTION = (
    "Send me a medical image (a chest X-ray, a CT or MRI series, a DICOM file, a slide, "
    "a skin or fundus photo) and a question: I answer with Google's MedGemma, for "
    "discussion and teaching. Not for diagnosis, urgent or emergency use."
)
SHORTCUT_DESCRIPTION = "Ask about the images in this message"

NAME_LIMIT = 35  # display_information.name
DISPLAY_NAME_LIMIT = 80  # features.bot_user.display_name
AGENT_DESCRIPTION_LIMIT = 300  # features.agent_view.agent_description
PROMPTS_LIMIT = 4  # features.agent_view.suggested_prompts (and setSuggestedPrompts)
URL_LIMIT = 3500  # settings.event_subscriptions.request_url


class ManifestError(ValueError):
    """An option Slack's manifest schema would reject; the text says what to change."""


def check_name(name: str) -> str:
    """The app's name, if Slack accepts it (1 to 35 characters)."""
    name = name.strip()
    if not 1 <= len(name) <= NAME_LIMIT:
        raise ManifestError(
            f"--name must be 1 to {NAME_LIMIT} characters (Slack's limit); {len(name)} given"
        )
    return name


def check_request_url(url: str) -> str:
    """The Events API request URL, if it is an https URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname or len(url) > URL_LIMIT:
        raise ManifestError(
            "--request-url must be an https URL, such as https://your.host/slack/events "
            "(Slack sends events only over https)"
        )
    return url.strip()


def required_scopes(*, contact_sheet: bool) -> frozenset[str]:
    """The scopes the bot cannot do without, given whether it posts contact sheets."""
    required = set(BOT_SCOPES) - set(OPTIONAL_SCOPES)
    if not contact_sheet:
        required.discard(SHEET_SCOPE)
    return frozenset(required)


def bot_events(view: View = "agent") -> list[str]:
    """The events to subscribe for `view`."""
    return [*BOT_EVENTS, *VIEW_EVENTS[view]]


def view_feature(view: View, prompts: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The `agent_view` (or legacy `assistant_view`) feature, with up to four prompts."""
    suggested = [{"title": t, "message": m} for t, m in prompts[:PROMPTS_LIMIT]]
    if view == "assistant":
        return {
            "assistant_view": {
                "assistant_description": AGENT_DESCRIPTION,
                "suggested_prompts": suggested,
            }
        }
    return {
        "agent_view": {
            "agent_description": AGENT_DESCRIPTION[:AGENT_DESCRIPTION_LIMIT],
            "suggested_prompts": suggested,
        }
    }


def english_prompts() -> list[tuple[str, str]]:
    """The suggested prompts in English, as the catalog words them ([suggest])."""
    from bot.prompts import load_prompts
    from bot.settings import DEFAULT_PROMPTS
    from bot.slack.surfaces.suggestions import welcome_prompts

    return welcome_prompts(load_prompts(DEFAULT_PROMPTS), language="en")


def manifest(
    *,
    name: str = DEFAULT_NAME,
    request_url: str | None = None,
    view: View = "agent",
    prompts: Sequence[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The manifest for Socket Mode, or for the HTTP Events API when a URL is given.

    Raises ManifestError for a name or URL Slack would refuse.
    """
    name = check_name(name)
    events: dict[str, Any] = {"bot_events": bot_events(view)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if request_url is not None:
        events["request_url"] = interactivity["request_url"] = check_request_url(request_url)
    shortcut = {
        "name": shortcut_name(name),
        "type": "message",
        "callback_id": ASK_SHORTCUT,
        "description": SHORTCUT_DESCRIPTION,
    }
    return {
        "display_information": {
            "name": name,
            "description": DESCRIPTION,
            "background_color": "#1d4f73",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            **view_feature(view, english_prompts() if prompts is None else prompts),
            "bot_user": {"display_name": name[:DISPLAY_NAME_LIMIT], "always_online": True},
            "shortcuts": [shortcut],
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


def manifest_yaml(
    *, name: str = DEFAULT_NAME, request_url: str | None = None, view: View = "agent"
) -> str:
    """The manifest as YAML, as pasted into "Create an app > From a manifest"."""
    import yaml

    data = manifest(name=name, request_url=request_url, view=view)
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
