"""Health probes and the metrics endpoint, as aiohttp routes.

- `GET /healthz`: 200 while the process serves requests at all (liveness).
- `GET /readyz`: 200 once the model backend has started and Slack is connected; 503
  while the model loads, while Slack is disconnected, and while draining at shutdown
  (readiness). The JSON body says what it waits for.
- `GET /metrics`: the app's registry in Prometheus' text format.

They listen on MEDGEMMA_HEALTH_PORT (on MEDGEMMA_HEALTH_HOST) when it is set. In HTTP
mode without it, the public events port answers the two probes but never /metrics. None
of them needs a token: they show no ids, only states and counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.service.metrics import Metrics

SlackCheck = Callable[[], Awaitable[bool]]


class Health:
    """What the readiness probe reports; the runner sets it as the bot starts and stops."""

    def __init__(self) -> None:
        self.backend_ready = False
        self.draining = False
        self._slack: SlackCheck | None = None

    def watch_slack(self, check: SlackCheck) -> None:
        """Ask `check` whether Slack is connected, at every probe."""
        self._slack = check

    async def waiting_for(self) -> list[str]:
        """What keeps the bot from being ready; empty when it is ready."""
        reasons = []
        if self.draining:
            reasons.append("draining")
        if not self.backend_ready:
            reasons.append("backend")
        if self._slack is None or not await self._slack():
            reasons.append("slack")
        return reasons


def probe_routes(health: Health, metrics: Metrics | None) -> list[web.RouteDef]:
    """GET /healthz, /readyz and, with `metrics`, /metrics."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def readyz(_: web.Request) -> web.Response:
        reasons = await health.waiting_for()
        body = {"ready": not reasons, "waiting_for": reasons}
        return web.json_response(body, status=503 if reasons else 200)

    routes = [web.get("/healthz", healthz), web.get("/readyz", readyz)]
    if metrics is not None:
        routes.append(web.get("/metrics", make_aiohttp_handler(metrics.registry)))
    return routes
