"""The names Slack shows for the app, shared by the manifest and the texts that name them.

Slack caps a message shortcut's name at 24 characters (github.com/slackapi/
manifest-schema: features.shortcuts[].name, maxLength 24), so "Ask <name>" gives way to
a shorter name when the app's name is long; the Home tab and the help say whichever the
manifest used.
"""

from __future__ import annotations

SHORTCUT_NAME_LIMIT = 24
SHORTCUT_FALLBACK = "Ask about images"


def shortcut_name(name: str) -> str:
    """The message shortcut's name: "Ask <name>" when it fits Slack's 24 characters."""
    full = f"Ask {name}"
    return full if len(full) <= SHORTCUT_NAME_LIMIT else SHORTCUT_FALLBACK
