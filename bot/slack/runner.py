"""Serving a built Slack app over Socket Mode or HTTP, and shutting it down once."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.logs import event
from bot.slack.app import SlackApp
from bot.slack.recovery import recover

log = logging.getLogger(__name__)

DRAIN_S = 60.0  # at shutdown, how long answers in progress may take to finish


class Runner:
    """One transport for one app; `stop()` drains answers and releases everything."""

    def __init__(self, slack: SlackApp) -> None:
        self._slack = slack
        self._socket: AsyncSocketModeHandler | None = None
        self._http: web.AppRunner | None = None
        self._stopped = False

    async def socket_mode(self) -> None:
        """Connect over Socket Mode (no public endpoint)."""
        self._socket = AsyncSocketModeHandler(
            self._slack.app,
            self._slack.deps.settings.slack_app_token,
            web_client=self._slack.deps.client,
            ping_interval=self._slack.deps.settings.socket_ping_s,
        )
        await self._socket.connect_async()
        event(log, "connected", mode="socket")
        await recover(self._slack.deps)

    async def http(self, *, host: str, port: int) -> int:
        """Serve POST /slack/events with signature checks; returns the bound port."""
        self._http = web.AppRunner(self._slack.app.web_app(path="/slack/events", port=port))
        await self._http.setup()
        await web.TCPSite(self._http, host=host, port=port).start()
        bound = int(self._http.addresses[0][1])
        event(log, "listening", mode="http", port=bound)
        await recover(self._slack.deps)
        return bound

    async def stop(self, *, drain_s: float = DRAIN_S) -> None:
        """Stop taking events, let answers finish (then cancel them), release everything."""
        if self._stopped:
            return
        self._stopped = True
        if self._socket is not None:
            await self._socket.close_async()
        if self._http is not None:
            await self._http.cleanup()
        await self._slack.deps.jobs.drain(timeout_s=drain_s)
        await self._slack.aclose()
        event(log, "stopped")
