"""Who the fake Slack workspace is: the ids, tokens and scopes every part of the fake shares."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SCOPES = (
    "app_mentions:read",
    "chat:write",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "files:read",
    "files:write",
    "commands",
)


@dataclass(kw_only=True)
class Workspace:
    """The fake workspace and its one installed app; `scopes` may be changed by a test."""

    bot_token: str = "xoxb-test"
    app_token: str = "xapp-test"
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    team_id: str = "T1"
    app_id: str = "A1"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    signing_secret: str = "test-secret"
    verification_token: str = "fake-verification-token"
    team_name: str = "Fake Workspace"
    domain: str = "fake-workspace"
    bot_name: str = "medgemma"

    @property
    def url(self) -> str:
        """The workspace URL that auth.test reports."""
        return f"https://{self.domain}.slack.com/"

    @property
    def bot_profile(self) -> dict[str, object]:
        """The `bot_profile` Slack attaches to the bot's messages."""
        return {
            "id": self.bot_id,
            "app_id": self.app_id,
            "name": self.bot_name,
            "team_id": self.team_id,
            "deleted": False,
            "icons": {},
        }
