"""doctor's Slack checks: the bot token and its scopes, the app-level token."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.commands.doctor.environment import shown_url
from bot.errors import ConfigError
from bot.settings import Settings

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.commands.doctor import Checks


async def check_slack(settings: Settings, checks: Checks, *, placeholders: set[str]) -> None:
    """Whether Slack takes the tokens, and which scopes the app still lacks."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.wiring.app import identify

    if "SLACK_BOT_TOKEN" in placeholders:
        return  # already named, with what to paste instead
    if not settings.slack_bot_token:
        checks.fail(
            "SLACK_BOT_TOKEN is not set: set it to the Bot User OAuth Token (xoxb-) from the "
            "app's Install App page"
        )
        return
    if urlsplit(settings.slack_api_url).username is not None:
        checks.fail(
            f"SLACK_API_URL ({shown_url(settings.slack_api_url)}) carries a user name or "
            "password, which Slack's client cannot send beside the token: remove it (a "
            "proxy's credentials go in HTTPS_PROXY)"
        )
        return
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        identity, scopes = await identify(client)
    except ConfigError as exc:
        # The detail names SLACK_API_URL whole, which may carry a proxy's credentials.
        url = settings.slack_api_url
        checks.fail(exc.detail.replace(url, shown_url(url)))
        return
    checks.ok(f"bot token works (bot user {identity.bot_user_id}) at {shown_url(client.base_url)}")
    _scopes(settings, scopes, checks)
    if "SLACK_APP_TOKEN" not in placeholders:
        await _app_token(settings, client, checks)


def _scopes(settings: Settings, granted: set[str], checks: Checks) -> None:
    from bot.slack.wiring.manifest import BOT_SCOPES, required_scopes

    missing = sorted(set(BOT_SCOPES) - granted)
    required = [s for s in missing if s in required_scopes(contact_sheet=settings.contact_sheet)]
    line = (
        f"missing scopes: {', '.join(missing)}: add them (deploy/slack-app-manifest.yaml has "
        "them all) and reinstall the app"
    )
    if required:
        checks.fail(line)
    elif missing:
        checks.warn(line.replace("missing scopes", "missing optional scopes", 1))
    else:
        checks.ok("all bot scopes granted")


async def _app_token(settings: Settings, client: AsyncWebClient, checks: Checks) -> None:
    from bot.slack.wiring.app import check_app_token

    if settings.slack_app_token:
        try:
            await check_app_token(client, settings.slack_app_token)
            checks.ok("app-level token opens Socket Mode connections")
        except ConfigError as exc:
            checks.fail(exc.detail)
    elif not settings.slack_signing_secret:
        checks.fail("set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")
