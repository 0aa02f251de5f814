"""The Slack app: built from settings, served over Socket Mode or HTTP, shut down cleanly."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.backends.base import Backend
from bot.cache import ImageCache
from bot.errors import ConfigError
from bot.logs import event
from bot.pipeline import Pipeline
from bot.prompts import Prompts
from bot.settings import Settings
from bot.slack.dedupe import Seen
from bot.slack.deps import Deps, UserNames
from bot.slack.files import SlackFiles
from bot.slack.history import Identity
from bot.slack.jobs import Jobs
from bot.slack.listeners import register
from bot.slack.manifest import BOT_SCOPES

log = logging.getLogger(__name__)

DRAIN_S = 60.0  # at shutdown, how long answers in progress may take to finish


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


@dataclass
class SlackBot:
    """The running bot: its dependencies, the Bolt app and the transport."""

    settings: Settings
    prompts: Prompts
    backend: Backend
    deps: Deps | None = None
    app: AsyncApp | None = None
    _session: aiohttp.ClientSession | None = None
    _socket: AsyncSocketModeHandler | None = None
    _runner: web.AppRunner | None = None
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def prepare(self) -> None:
        """Check the Slack token and scopes, then build dependencies and the Bolt app."""
        s = self.settings
        client = AsyncWebClient(
            token=s.slack_bot_token,
            base_url=s.slack_api_url,
            timeout=int(s.slack_api_timeout_s),
            # Busy channels can hit conversations.replies' rate tier: wait as Slack asks.
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=1),
                AsyncRateLimitErrorRetryHandler(max_retry_count=2),
                AsyncServerErrorRetryHandler(max_retry_count=1),
            ],
        )
        identity, scopes = await identify(client)
        missing = sorted(set(BOT_SCOPES) - {"users:read"} - scopes)
        if missing:
            event(log, "missing_scopes", level=logging.WARNING, scopes=missing)
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=s.download_timeout_s)
        )
        files = SlackFiles(
            client=client,
            session=self._session,
            token=s.slack_bot_token,
            api_url=s.slack_api_url,
            max_bytes=s.max_file_bytes,
            timeout_s=s.download_timeout_s,
        )
        cache = ImageCache(max_bytes=s.image_cache_mb * 1024 * 1024, ttl_s=s.image_cache_ttl_s)
        self.deps = Deps(
            settings=s,
            prompts=self.prompts,
            client=client,
            identity=identity,
            files=files,
            pipeline=Pipeline(backend=self.backend, prompts=self.prompts, settings=s, cache=cache),
            jobs=Jobs(max_pending=s.max_pending),
            seen=Seen(),
            names=UserNames(client),
        )
        self.app = AsyncApp(
            client=client,
            signing_secret=s.slack_signing_secret or "unused-in-socket-mode",
            process_before_response=True,  # listeners only enqueue work; ack follows at once
            request_verification_enabled=bool(s.slack_signing_secret),
            # Bolt's default logger copies the root level and logs socket payloads at
            # DEBUG; this one inherits the WARNING level set for the slack_bolt tree.
            logger=logging.getLogger("slack_bolt.app"),
        )
        register(self.app, self.deps)
        event(log, "slack_ready", bot_user_id=identity.bot_user_id, scopes_missing=len(missing))

    async def serve_socket_mode(self) -> None:
        """Connect over Socket Mode (no public endpoint)."""
        assert self.app is not None and self.deps is not None
        self._socket = AsyncSocketModeHandler(
            self.app, self.settings.slack_app_token, web_client=self.deps.client
        )
        await self._socket.connect_async()
        event(log, "connected", mode="socket")

    async def serve_http(self, *, host: str, port: int) -> int:
        """Serve POST /slack/events with signature checks; returns the bound port."""
        assert self.app is not None
        self._runner = web.AppRunner(self.app.web_app(path="/slack/events", port=port))
        await self._runner.setup()
        site = web.TCPSite(self._runner, host=host, port=port)
        await site.start()
        bound = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        event(log, "listening", mode="http", port=bound)
        return bound

    async def wait_stopped(self) -> None:
        """Block until stop() is called."""
        await self._stopped.wait()

    async def stop(self, *, drain_s: float = DRAIN_S) -> None:
        """Stop taking events, let answers finish (then cancel them), release everything."""
        if self._socket is not None:
            await self._socket.close_async()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.deps is not None:
            await self.deps.jobs.drain(timeout_s=drain_s)
            self.deps.pipeline.close()
        if self._session is not None:
            await self._session.close()
        self._stopped.set()
