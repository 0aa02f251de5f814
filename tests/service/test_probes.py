"""The probes: alive always, ready only with the backend up, Slack connected, not draining."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.service.metrics import Metrics
from bot.service.probes import Health, probe_routes


@pytest.fixture
async def served() -> AsyncIterator[tuple[Health, Metrics, str]]:
    health, metrics = Health(), Metrics()
    app = web.Application()
    app.add_routes(probe_routes(health, metrics))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield health, metrics, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_readiness_follows_the_backend_slack_and_draining(
    served: tuple[Health, Metrics, str],
) -> None:
    health, _, base = served
    connected = False

    async def slack() -> bool:
        return connected

    assert await get(f"{base}/healthz") == (200, '{"alive": true}')
    status, body = await get(f"{base}/readyz")
    assert status == 503 and "backend" in body and "slack" in body
    health.backend_ready = True
    health.watch_slack(slack)
    status, body = await get(f"{base}/readyz")
    assert status == 503 and "backend" not in body and "slack" in body
    connected = True
    assert (await get(f"{base}/readyz"))[0] == 200
    health.draining = True
    status, body = await get(f"{base}/readyz")
    assert status == 503 and "draining" in body
    assert (await get(f"{base}/healthz"))[0] == 200  # still alive while draining


async def test_metrics_in_prometheus_text(served: tuple[Health, Metrics, str]) -> None:
    _, metrics, base = served
    metrics.outcome("answered")
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    assert 'medgemma_questions_total{outcome="answered"} 1.0' in text
    assert "process_resident_memory_bytes" in text
