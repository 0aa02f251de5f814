"""Serving a built Slack app over Socket Mode or HTTP, and shutting it down once.

Start-up goes `listen` (the probes and metrics on MEDGEMMA_HEALTH_PORT when set; in HTTP
mode the events endpoint, answering 503 until the bot takes events, so that Slack
retries), `check_app_token` (Socket Mode: a refused token stops start-up before the model
loads), `start_backend` (the model loads while /readyz says 503), then `socket_mode()` or
`http()`: Slack connected,
the questions stopped replicas left taken on and, with a shared state store, looked for
again every half MEDGEMMA_REPLICA_TIMEOUT_S. `stop()` turns /readyz to 503, stops
taking events, drains answers (MEDGEMMA_DRAIN_S) and releases everything.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from aiohttp import web
from aiohttp.typedefs import Handler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.errors import ConfigError
from bot.logs import event
from bot.service.probes import Health, probe_routes
from bot.slack.question.recovery import recover
from bot.slack.wiring.app import SlackApp, check_app_token

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class Runner:
    """One transport for one app; `stop()` drains answers and releases everything."""

    def __init__(self, slack: SlackApp) -> None:
        self._slack = slack
        self._socket: AsyncSocketModeHandler | None = None
        self._http: web.AppRunner | None = None  # the events endpoint (HTTP mode)
        self._probes: web.AppRunner | None = None  # MEDGEMMA_HEALTH_PORT
        self._taking_events = False
        self._scan: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def slack(self) -> SlackApp:
        """The app this runner serves."""
        return self._slack

    @property
    def health(self) -> Health:
        """What /readyz reports."""
        return self._slack.deps.health

    async def listen(self, *, host: str, port: int, events: bool = False) -> int:
        """Serve POST /slack/events (with `events`) or the probes and metrics; the port.

        The events port answers /healthz and /readyz too (load balancers probe it) unless
        the probes have a port of their own; /metrics is never on the events port.
        """
        deps = self._slack.deps
        if events:
            app = self._slack.app.web_app(path=EVENTS_PATH, port=port)
            app.middlewares.append(self._events_gate)
            if self._probes is None:
                app.add_routes(probe_routes(deps.health, metrics=None))
        else:
            app = web.Application()
            app.add_routes(probe_routes(deps.health, deps.metrics))
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            await web.TCPSite(runner, host=host, port=port).start()
        except OSError as exc:
            await runner.cleanup()
            setting = "--port" if events else "MEDGEMMA_HEALTH_PORT"
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__}): "
                f"choose another {setting}"
            ) from None
        if events:
            self._http = runner
        else:
            self._probes = runner
        bound = int(runner.addresses[0][1])
        event(log, "listening", mode="http" if events else "probes", port=bound)
        return bound

    async def check_app_token(self) -> None:
        """Socket Mode: Slack must accept SLACK_APP_TOKEN, checked before the model loads."""
        deps = self._slack.deps
        await check_app_token(deps.client, deps.settings.slack_app_token)

    async def start_backend(self) -> None:
        """Load the model (or connect to its server); the bot is ready only after."""
        await self._slack.deps.pipeline.backend.start()
        self.health.backend_ready = True

    async def socket_mode(self) -> None:
        """Connect over Socket Mode (no public endpoint), then serve."""
        self._socket = AsyncSocketModeHandler(
            self._slack.app,
            self._slack.deps.settings.slack_app_token,
            web_client=self._slack.deps.client,
            ping_interval=self._slack.deps.settings.socket_ping_s,
        )
        await self._socket.connect_async()
        self.health.watch_slack(self._socket.client.is_connected)
        event(log, "connected", mode="socket")
        await self._serve()

    async def http(self, *, host: str, port: int) -> int:
        """Take POST /slack/events (signatures checked), listening first if need be; the port."""
        if self._http is None:
            await self.listen(host=host, port=port, events=True)
        assert self._http is not None
        self._taking_events = True
        self.health.watch_slack(self._taking)
        await self._serve()
        return int(self._http.addresses[0][1])

    async def stop(self, *, drain_s: float | None = None) -> None:
        """Stop taking events, let answers finish (then cancel them), release everything."""
        if self._stopped:
            return
        self._stopped = True
        self.health.draining = True
        self._taking_events = False
        if self._scan is not None:
            self._scan.cancel()
            with suppress(asyncio.CancelledError):
                await self._scan
        if self._socket is not None:
            await self._socket.close_async()
        deps = self._slack.deps
        await deps.jobs.drain(timeout_s=deps.settings.drain_s if drain_s is None else drain_s)
        for server in (self._http, self._probes):  # the probes answer 503 until here
            if server is not None:
                await server.cleanup()
        await self._slack.aclose()
        event(log, "stopped")

    async def _taking(self) -> bool:
        return self._taking_events

    @web.middleware
    async def _events_gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse events while loading or draining: Slack retries them (elsewhere, if it can)."""
        if request.path == EVENTS_PATH and not self._taking_events:
            return web.json_response({"error": "not ready"}, status=503)
        return await handler(request)

    async def _serve(self) -> None:
        """Take on what stopped replicas left: now, and periodically if others may stop."""
        await self._recover()
        if self._slack.deps.state.shared:
            self._scan = asyncio.create_task(self._scan_orphans(), name="orphan-scan")

    async def _scan_orphans(self) -> None:
        """A replica that dies while this one lives: its questions are finished here."""
        interval_s = self._slack.deps.settings.replica_timeout_s / 2
        while True:
            await asyncio.sleep(interval_s)
            await self._recover()

    async def _recover(self) -> None:
        try:
            await recover(self._slack.deps)
        except Exception:  # the store is unreachable: the next scan tries again
            event(log, "recovery_failed", level=logging.ERROR, exc_info=True)
