"""Tests for bot.slack.question.access: whose deliveries are for this app, who may ask."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.question.access import foreign, interaction_is_direct
from bot.slack.webapi.posts import Identity

US = Identity(bot_user_id="UBOT", bot_id="BBOT", team_id="T1", app_id="A1")
ORG = Identity("UBOT", "BBOT", "T1", app_id="A1", enterprise_id="E1", org_install=True)


def delivered(*, team: str = "T1", app: str = "A1", **extra: Any) -> dict[str, Any]:
    """An event_callback body as Slack sends it for an installation in `team`."""
    body = {
        "type": "event_callback",
        "team_id": team,
        "api_app_id": app,
        "authorizations": [{"team_id": team, "enterprise_id": None, "is_bot": True}],
    }
    return body | extra


# (case id, identity, body, expected reason)
CASES: list[tuple[str, Identity, dict[str, Any], str | None]] = [
    ("ours", US, delivered(), None),
    ("another workspace", US, delivered(team="T2"), "team"),
    ("another app", US, delivered(app="A2"), "app"),
    ("no app id", US, {k: v for k, v in delivered().items() if k != "api_app_id"}, "app"),
    (
        "a Slack Connect partner's message, delivered for our installation",
        US,
        delivered() | {"team_id": "TPARTNER"},
        None,
    ),
    (
        "app id unknown: the workspace still counts",
        Identity("UBOT", "BBOT", "T1"),
        delivered(team="T2"),
        "team",
    ),
    (
        "org-wide install, one of its workspaces",
        ORG,
        delivered(team="T7", authorizations=[{"team_id": None, "enterprise_id": "E1"}]),
        None,
    ),
    (
        "org-wide install, another org",
        ORG,
        delivered(team="T7", authorizations=[{"team_id": None, "enterprise_id": "E2"}]),
        "team",
    ),
    (
        "an interaction of our app",
        US,
        {"type": "block_actions", "api_app_id": "A1", "team": {"id": "TPARTNER"}},
        None,
    ),
    ("an interaction of another app", US, {"type": "block_actions", "api_app_id": "A2"}, "app"),
]


@pytest.mark.parametrize(("name", "identity", "body", "reason"), CASES, ids=[c[0] for c in CASES])
def test_foreign(name: str, identity: Identity, body: dict[str, Any], reason: str | None) -> None:
    assert foreign(body, identity) == reason


@pytest.mark.parametrize(
    ("channel", "direct"),
    [
        ({"id": "D1", "name": "directmessage"}, True),
        ({"id": "G1", "name": "mpdm-ann--bob--medgemma-1"}, True),
        ({"id": "G2", "name": "private-reads"}, False),
        ({"id": "C1", "name": "radiology"}, False),
        ({}, False),
    ],
)
def test_a_group_dm_is_direct(channel: dict[str, str], direct: bool) -> None:
    assert interaction_is_direct(channel) is direct
