"""The manifest's scopes and which of them the bot cannot do without."""

from __future__ import annotations

from bot.slack.manifest import BOT_SCOPES, manifest, required_scopes


def test_the_contact_sheet_is_the_only_user_of_files_write() -> None:
    assert "files:write" in manifest()["oauth_config"]["scopes"]["bot"]
    assert "files:write" in required_scopes(contact_sheet=True)
    assert required_scopes(contact_sheet=True) - required_scopes(contact_sheet=False) == {
        "files:write"
    }


def test_users_read_stays_optional() -> None:
    assert "users:read" in BOT_SCOPES
    assert "users:read" not in required_scopes(contact_sheet=True)
