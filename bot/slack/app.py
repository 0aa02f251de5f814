"""The Slack app, complete when built: identity checked, dependencies made, listeners on."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.backends.base import Backend
from bot.errors import ConfigError
from bot.file_loader import FileLoader
from bot.logs import event
from bot.pipeline import Pipeline
from bot.prompts import Prompts
from bot.settings import Settings
from bot.slack.dedupe import Seen
from bot.slack.deps import Deps, UserNames
from bot.slack.files import SlackDownloads
from bot.slack.history import Identity
from bot.slack.jobs import Jobs
from bot.slack.listeners import register
from bot.slack.manifest import BOT_SCOPES, OPTIONAL_SCOPES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackApp:
    """The Bolt app and what it owns; `aclose()` releases the owned parts."""

    app: AsyncApp
    deps: Deps
    files: FileLoader
    session: aiohttp.ClientSession

    async def aclose(self) -> None:
        """Stop the decoding threads and close the download session."""
        self.files.close()
        await self.session.close()


def web_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: Slack's rate limits waited out, transient failures retried."""
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=int(settings.slack_api_timeout_s),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ],
    )


async def identify(client: AsyncWebClient) -> tuple[Identity, set[str]]:
    """The bot's ids and granted scopes (auth.test); a bad token stops start-up."""
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response else "unknown"
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN ({error}): check the token") from None
    scopes = {s.strip() for s in (response.headers.get("x-oauth-scopes") or "").split(",") if s}
    identity = Identity(
        bot_user_id=str(response["user_id"]), bot_id=str(response.get("bot_id", ""))
    )
    return identity, scopes


def bolt_app(settings: Settings, client: AsyncWebClient) -> AsyncApp:
    """The Bolt app: listeners only enqueue work, so Slack is acknowledged at once."""
    return AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "unused-in-socket-mode",
        process_before_response=True,
        request_verification_enabled=bool(settings.slack_signing_secret),
        # Bolt's default logger copies the root level and logs socket payloads at DEBUG;
        # this one inherits the WARNING level set for the slack_bolt tree.
        logger=logging.getLogger("slack_bolt.app"),
    )


async def build_app(*, settings: Settings, prompts: Prompts, backend: Backend) -> SlackApp:
    """Check the token and scopes with Slack, then build everything the listeners use."""
    client = web_client(settings)
    identity, scopes = await identify(client)
    missing = sorted(set(BOT_SCOPES) - set(OPTIONAL_SCOPES) - scopes)
    if missing:
        event(log, "missing_scopes", level=logging.WARNING, scopes=missing)
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=settings.download_timeout_s)
    )
    files = FileLoader(settings=settings)
    deps = Deps(
        settings=settings,
        prompts=prompts,
        client=client,
        identity=identity,
        downloads=SlackDownloads(
            client=client,
            session=session,
            token=settings.slack_bot_token,
            api_url=settings.slack_api_url,
            max_bytes=settings.max_file_bytes,
            timeout_s=settings.download_timeout_s,
        ),
        pipeline=Pipeline(backend=backend, prompts=prompts, settings=settings, files=files),
        jobs=Jobs(max_pending=settings.max_pending),
        seen=Seen(),
        names=UserNames(client),
    )
    app = bolt_app(settings, client)
    register(app, deps)
    event(log, "slack_ready", bot_user_id=identity.bot_user_id, scopes_missing=len(missing))
    return SlackApp(app=app, deps=deps, files=files, session=session)
