"""Running as a service: metrics that move, one audit event per question, probes that tell."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.errors import BackendTimeout
from bot.logs import JsonFormatter
from tests.e2e.harness import Harness, built_runner, png_bytes, running_bot, start_bot, wait_until
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack, event_callback_body, new_event_id, signed_request_headers

SECRET = "Jane Roe, born 1961, mass in the left lung?"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def scrape(port: int) -> tuple[str, Samples]:
    """The /metrics text and its samples by (name, labels)."""
    status, text = await get(port, "/metrics")
    assert status == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): float(s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def at(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_and_audit_follow_each_question(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.audit")
    png = fake_slack.add_file(png_bytes(), name="Roe_J.png", mimetype="image/png", filetype="png")
    backend = FakeBackend().then(Step()).then(Step(error=BackendTimeout("slow", seconds=1)))
    async with running_bot(fake_slack, backend) as h:
        port = await h.runner.listen(host="127.0.0.1", port=0)
        _, before = await scrape(port)
        answered = await h.ask(SECRET, files=[png])
        [answer] = await h.replies(answered)
        failed = await h.ask("and now?", channel="C2")
        [notice] = await h.replies(failed, channel="C2")
        text, after = await scrape(port)
    assert at(before, "medgemma_questions_total", outcome="answered") == 0
    assert at(after, "medgemma_questions_total", outcome="answered") == 1
    assert at(after, "medgemma_questions_total", outcome="error") == 1
    assert at(after, "medgemma_errors_total", kind="BackendTimeout") == 1
    assert at(after, "medgemma_images_per_request_sum") == 1
    assert at(after, "medgemma_answer_seconds_count") == 1
    assert at(after, "medgemma_time_to_first_token_seconds_count") == 1
    assert at(after, "medgemma_questions_in_progress") == 0
    for private in ("Roe", "Jane", "C1", "C2", "U1", answered):
        assert private not in text  # no label holds text, file names or ids
    audits = [r for r in caplog.records if r.getMessage() == "question_audit"]
    by_outcome = {r.fields["outcome"]: r.fields for r in audits}  # type: ignore[attr-defined]
    assert len(audits) == 2 and set(by_outcome) == {"answered", "error"}
    ok = by_outcome["answered"]
    assert (ok["user"], ok["channel"], ok["message_ts"]) == ("U1", "C1", answered)
    assert ok["request_id"] == answer["metadata"]["event_payload"]["request_id"]
    assert (ok["files"], ok["images"], ok["slices"]) == (1, 1, 0)
    assert ok["answer_s"] is not None and ok["asked_at"].endswith("Z")
    assert by_outcome["error"]["error"] == "BackendTimeout"
    assert by_outcome["error"]["request_id"] == notice["metadata"]["event_payload"]["request_id"]
    rendered = "\n".join(JsonFormatter().format(r) for r in audits)
    for secret in ("Jane", "Roe", "1961", "lung"):
        assert secret not in rendered
    assert all(json.loads(line)["logger"] == "bot.audit" for line in rendered.splitlines())


async def test_readyz_turns_503_while_draining(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(Step(hang=True))
    h = await start_bot(fake_slack, backend)
    port = await h.runner.listen(host="127.0.0.1", port=0)
    assert (await get(port, "/readyz"))[0] == 200
    ts = await h.ask("a long one")
    await wait_until(lambda: bool(backend.requests))
    stopping = asyncio.create_task(h.runner.stop(drain_s=2.0))
    await wait_until(lambda: h.runner.health.draining)
    status, body = await get(port, "/readyz")
    assert status == 503 and "draining" in json.loads(body)["waiting_for"]
    assert (await get(port, "/healthz"))[0] == 200
    await stopping
    [notice] = h.bot_replies(ts)
    assert "ask again" in notice["text"]


async def test_http_mode_refuses_events_until_the_model_is_loaded(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    runner = await built_runner(fake_slack, backend, transport="http")
    slack = runner.slack
    port = await runner.listen(host="127.0.0.1", port=0, events=True)
    [mention, _] = fake_slack.post_user_message(
        channel="C1", text=f"<@{fake_slack.bot_user_id}> over http?"
    )
    body = event_callback_body(mention, event_id=new_event_id())
    headers = signed_request_headers(body, signing_secret=fake_slack.signing_secret)
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers=headers) as response:
                assert response.status == 503  # loading: Slack retries later
            status, text = await get(port, "/readyz")
            assert status == 503 and "backend" in text
            await runner.start_backend()
            assert await runner.http(host="127.0.0.1", port=port) == port
            assert (await get(port, "/readyz"))[0] == 200
            async with session.post(url, data=body, headers=headers) as response:
                assert response.status == 200
        h = Harness(fake=fake_slack, slack=slack, runner=runner, backend=backend)
        assert len(await h.replies(str(mention["ts"]))) == 1
    finally:
        await runner.stop()


async def test_metrics_are_never_on_the_public_events_port(fake_slack: FakeSlack) -> None:
    for own_port in (False, True):
        runner = await built_runner(fake_slack, FakeBackend(), transport="http")
        try:
            probes = await runner.listen(host="127.0.0.1", port=0) if own_port else None
            events = await runner.listen(host="127.0.0.1", port=0, events=True)
            assert (await get(events, "/metrics"))[0] == 404
            # Load balancers probe the events port, unless the probes have a port of their own.
            assert (await get(events, "/healthz"))[0] == (404 if own_port else 200)
            if probes is not None:
                assert (await get(probes, "/metrics"))[0] == 200
        finally:
            await runner.stop()


async def test_a_port_in_use_is_one_clear_line(fake_slack: FakeSlack) -> None:
    import socket

    from bot.errors import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with running_bot(fake_slack, FakeBackend()) as h:
            with pytest.raises(ConfigError) as caught:
                await h.runner.listen(host="127.0.0.1", port=port)
    assert f"cannot listen on 127.0.0.1:{port}" in caught.value.detail
    assert "MEDGEMMA_HEALTH_PORT" in caught.value.detail


async def test_a_question_turned_away_is_counted_and_audited(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.audit")
    backend = FakeBackend().then(Step(delay_s=0.5))
    async with running_bot(
        fake_slack, backend, MEDGEMMA_MAX_PENDING="1", MEDGEMMA_BUSY_WAIT_S="0"
    ) as h:
        port = await h.runner.listen(host="127.0.0.1", port=0)
        first = await h.ask("one")
        second = await h.ask("two", user="U2")
        [busy] = await h.replies(second)
        await h.replies(first)
        _, samples = await scrape(port)
    assert "busy" in busy["text"]
    assert at(samples, "medgemma_questions_total", outcome="busy") == 1
    assert at(samples, "medgemma_errors_total", kind="Busy") == 1
    audits = {
        r.fields["outcome"]: r.fields for r in caplog.records if r.getMessage() == "question_audit"
    }  # type: ignore[attr-defined]
    assert (audits["busy"]["user"], audits["busy"]["message_ts"]) == ("U2", second)
    assert audits["busy"]["request_id"] == busy["metadata"]["event_payload"]["request_id"]
