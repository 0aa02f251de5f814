"""The Slack app, complete when built: identity checked, dependencies made, listeners on."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.backends.base import Backend
from bot.errors import ConfigError, SlackUnreachable
from bot.logs import event
from bot.pipeline.file_loader import FileLoader
from bot.pipeline.pipeline import Pipeline
from bot.prompts import Prompts
from bot.service.metrics import Metrics
from bot.service.probes import Health
from bot.settings import Settings
from bot.slack.deps import Deps
from bot.slack.jobs import Jobs
from bot.slack.line import Limits
from bot.slack.waits import Arrivals, ThreadTurns
from bot.slack.webapi.assistant import AssistantThreads
from bot.slack.webapi.budget import StreamBudget
from bot.slack.webapi.client import web_client
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code, slack_code
from bot.slack.webapi.files import SlackDownloads
from bot.slack.webapi.people import People
from bot.slack.webapi.posts import Identity
from bot.slack.wiring.listeners import register
from bot.slack.wiring.manifest import required_scopes
from bot.state import State
from bot.state.memory import MemoryState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackApp:
    """The Bolt app and what it owns; `aclose()` releases the owned parts."""

    app: AsyncApp
    deps: Deps
    files: FileLoader
    session: aiohttp.ClientSession

    async def aclose(self) -> None:
        """Stop the decoding threads, save the state, close the download session."""
        self.files.close()
        await self.deps.state.aclose()
        await self.session.close()


async def identify(client: AsyncWebClient) -> tuple[Identity, set[str]]:
    """The bot's ids and granted scopes (auth.test); a bad token stops start-up."""
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        error = slack_code(exc) or "unknown"
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN ({error}): check the token") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        where = client.base_url
        raise SlackUnreachable(
            f"cannot reach Slack at {where}: {network_reason(exc)}; check the network and "
            "HTTPS_PROXY"
        ) from None
    scopes = {s.strip() for s in (response.headers.get("x-oauth-scopes") or "").split(",") if s}
    bot_id = str(response.get("bot_id", ""))
    identity = Identity(
        bot_user_id=str(response["user_id"]),
        bot_id=bot_id,
        team_id=str(response.get("team_id", "")),
        app_id=await app_id_of(client, bot_id),
        enterprise_id=str(response.get("enterprise_id") or ""),
        org_install=bool(response.get("is_enterprise_install")),
    )
    return identity, scopes


async def app_id_of(client: AsyncWebClient, bot_id: str) -> str:
    """The app's id (bots.info, which needs users:read); "" when Slack does not say.

    Events name the app they are for (`api_app_id`); with this id, another app's are
    dropped. Without it only the workspace is checked, which is said once here.
    """
    try:
        response = await client.bots_info(bot=bot_id)
    except SLACK_FAILURES as exc:
        event(log, "app_id_unknown", level=logging.WARNING, error=failure_code(exc))
        return ""
    return str((response.get("bot") or {}).get("app_id") or "")


async def check_app_token(client: AsyncWebClient, app_token: str) -> None:
    """Slack accepts the app-level token for Socket Mode (apps.connections.open).

    The URL it hands out is left unused: Socket Mode asks for a fresh one to connect.
    """
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        error = slack_code(exc) or "unknown"
        raise ConfigError(
            f"Slack rejected SLACK_APP_TOKEN ({error}): make an app-level token with the "
            "connections:write scope (Basic Information > App-Level Tokens)"
        ) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise SlackUnreachable(
            f"cannot reach Slack at {client.base_url}: {network_reason(exc)}; check the "
            "network and HTTPS_PROXY"
        ) from None


def network_reason(exc: BaseException) -> str:
    """One line on why a connection failed, from the exception's type alone."""
    reasons: list[tuple[type[BaseException], str]] = [
        (aiohttp.ClientConnectorDNSError, "the host name did not resolve (DNS)"),
        (aiohttp.ClientConnectorCertificateError, "its TLS certificate is not trusted here"),
        (aiohttp.ClientProxyConnectionError, "the proxy refused the connection"),
        (aiohttp.ClientHttpProxyError, "the proxy answered with an error"),
        (aiohttp.ClientSSLError, "the TLS handshake failed"),
        (aiohttp.ClientConnectorError, "the connection was refused or the host is unreachable"),
        (TimeoutError, "no answer in time"),
    ]
    for kind, reason in reasons:
        if isinstance(exc, kind):
            return reason
    return f"{type(exc).__name__}"


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


def line_limits(settings: Settings) -> Limits:
    """The answer slots and who may take how many of them (MEDGEMMA_MAX_PENDING and co)."""
    return Limits(
        slots=settings.max_pending,
        per_person=settings.max_per_person,
        per_channel=settings.max_per_channel,
        busy_wait_s=settings.busy_wait_s,
    )


def make_state(settings: Settings) -> State:
    """Redis when MEDGEMMA_REDIS_URL is set (replicas), else this process's memory and file."""
    if settings.redis_url:
        from bot.state.redis_state import RedisState

        return RedisState(url=settings.redis_url, replica_timeout_s=settings.replica_timeout_s)
    path = None if settings.state_file.lower() == "off" else Path(settings.state_file)
    return MemoryState(path=path)


async def build_app(
    *, settings: Settings, prompts: Prompts, backend: Backend, state: State | None = None
) -> SlackApp:
    """Check the token and scopes with Slack, then build everything the listeners use."""
    client = web_client(settings)
    identity, scopes = await identify(client)
    state = state or make_state(settings)
    await state.start()
    missing = sorted(required_scopes(contact_sheet=settings.contact_sheet) - scopes)
    if missing:
        event(log, "missing_scopes", level=logging.WARNING, scopes=missing)
    # trust_env: downloads take HTTPS_PROXY like the Web API and Socket Mode do.
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=settings.download_timeout_s), trust_env=True
    )
    files = FileLoader(settings=settings)
    deps = Deps(
        settings=settings,
        prompts=prompts,
        client=client,
        status_client=web_client(settings, rate_limit_retries=0),
        identity=identity,
        downloads=SlackDownloads(
            client=client,
            session=session,
            token=settings.slack_bot_token,
            api_url=settings.slack_api_url,
            cap=files.size_cap,  # the loader's: one cap, checked by both
            timeout_s=settings.download_timeout_s,
        ),
        pipeline=Pipeline(backend=backend, prompts=prompts, settings=settings, files=files),
        jobs=Jobs(limits=line_limits(settings)),
        state=state,
        names=People(client, prompts=prompts, fixed_language=settings.language),
        turns=ThreadTurns(),
        arrivals=Arrivals(),
        replica=state.replica,
        stream_budget=StreamBudget(),
        metrics=Metrics(),
        health=Health(),
        assistant=AssistantThreads(client, view=settings.slack_view),
    )
    app = bolt_app(settings, client)
    register(app, deps)
    event(log, "slack_ready", bot_user_id=identity.bot_user_id, scopes_missing=len(missing))
    return SlackApp(app=app, deps=deps, files=files, session=session)
