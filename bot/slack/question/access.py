"""Who may ask the bot where, and which deliveries are for this app at all: pure decisions.

- The allowlists (MEDGEMMA_ALLOWED_CHANNELS, MEDGEMMA_ALLOWED_USERS, MEDGEMMA_ALLOW_DMS)
  hold on every surface: questions, the shortcut, feedback buttons and their reasons.
  A group DM (`mpim`) counts as a DM: MEDGEMMA_ALLOW_DMS decides, not the channel list.
- An event delivered for another workspace (its installation's team, or enterprise for
  an org-wide install) or another app (`api_app_id`) is dropped before any listener.
  Slack Connect partners write in shared channels the bot is in: their events are
  delivered for this workspace's installation, so they pass, and the allowlists then
  decide about them as about anyone (with MEDGEMMA_ALLOWED_USERS set, only listed ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.settings import Settings
from bot.slack.webapi.posts import Identity

DIRECT_TYPES = frozenset({"im", "mpim"})
GROUP_DM_PREFIX = "mpdm-"  # how Slack names a group DM in interaction payloads


def refusal(settings: Settings, *, channel: str, user: str, in_dm: bool) -> str | None:
    """The [access] message key when this person may not ask here, else None.

    `in_dm`: a direct message or a group DM. Empty lists mean everyone and everywhere
    (the default).
    """
    if in_dm and not settings.allow_dms:
        return "dm"
    if not in_dm and settings.allowed_channels and channel not in settings.allowed_channels:
        return "channel"
    if settings.allowed_users and user not in settings.allowed_users:
        return "user"
    return None


def admitted(settings: Settings, user: str) -> bool:
    """Whether MEDGEMMA_ALLOWED_USERS lets this person's words reach the model."""
    return not settings.allowed_users or user in settings.allowed_users


def interaction_is_direct(channel: Mapping[str, Any]) -> bool:
    """Whether an interaction's `channel` ({"id", "name"}) is a DM or a group DM."""
    return str(channel.get("id") or "").startswith("D") or str(
        channel.get("name") or ""
    ).startswith(GROUP_DM_PREFIX)


def _installation(body: Mapping[str, Any]) -> tuple[str, str]:
    """(enterprise id, team id) of the installation an event was delivered for.

    `authorizations` names it; in a shared channel the outer `team_id` may be the
    workspace the message came from, so it is only the fallback.
    """
    first = next(iter(body.get("authorizations") or []), None)
    auth: Mapping[str, Any] = first if isinstance(first, Mapping) else {}
    team = auth.get("team_id") or body.get("context_team_id") or body.get("team_id")
    enterprise = auth.get("enterprise_id") or body.get("context_enterprise_id")
    return str(enterprise or body.get("enterprise_id") or ""), str(team or "")


def foreign(body: Mapping[str, Any], identity: Identity) -> str | None:
    """Why a delivery is not for this app in this workspace ("app", "team"), else None."""
    if identity.app_id and body.get("api_app_id") != identity.app_id:
        return "app"
    if body.get("type") != "event_callback":
        return None  # interactions: the app id above; their team is the clicking person's
    enterprise, team = _installation(body)
    if identity.org_install:
        return None if enterprise == identity.enterprise_id else "team"
    return None if team == identity.team_id else "team"
