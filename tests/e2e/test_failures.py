"""Backend failures, timeouts and overload: one clear message each, then business as usual."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.errors import BackendError
from tests.e2e.harness import findings, png_bytes, running_bot
from tests.fakes.backend import FakeBackend, Step, digest
from tests.fakes.slack import FakeSlack

SECRET_QUESTION = "patient Jane Roe 1961-02-03 has a mass?"


async def test_backend_failure_then_recovery(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(Step(error=BackendError("CUDA error: illegal memory access")))
    async with running_bot(fake_slack, backend) as h:
        failed = await h.ask("first")
        [notice] = await h.replies(failed)
        ok = await h.ask("second")
        [answer] = await h.replies(ok)
    assert notice["metadata"]["event_type"] == "medgemma_notice"
    assert "model failed" in notice["text"] and "error id" in notice["text"]
    assert "CUDA" not in notice["text"]  # no raw exception text reaches Slack
    assert findings(answer).startswith(f"Findings for {digest('second')}")


async def test_unexpected_exception_still_gets_a_message(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(Step(error=RuntimeError("boom: /srv/secret/path")))
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask("hello")
        [notice] = await h.replies(ts)
    assert "went wrong" in notice["text"] and "/srv" not in notice["text"]


async def test_hanging_backend_times_out(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(Step(hang=True))
    async with running_bot(fake_slack, backend, MEDGEMMA_TIMEOUT_S="1") as h:
        ts = await h.ask("anything")
        [notice] = await h.replies(ts)
    assert "took too long" in notice["text"]
    assert backend.cancelled == 1


async def test_twenty_threads_at_once_each_get_their_own_answer(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    files = [
        fake_slack.add_file(
            png_bytes(colour=(i, 2 * i, 3 * i)),
            name=f"{i}.png",
            mimetype="image/png",
            filetype="png",
        )
        for i in range(20)
    ]
    # One person's twenty cases at once, within their limit of questions in flight.
    async with running_bot(fake_slack, backend, MEDGEMMA_MAX_PER_PERSON="20") as h:
        events = [
            fake_slack.post_user_message(
                channel="C1", text=f"<@{fake_slack.bot_user_id}> case {i}", files=[files[i]]
            )
            for i in range(20)
        ]
        await asyncio.gather(*(h.deliver(e) for e in events))
        threads = [str(e[0]["ts"]) for e in events]
        replies = [await h.replies(ts) for ts in threads]
    for i, [reply] in enumerate(replies):
        assert findings(reply) == f"Findings for {digest(f'case {i}')}: 1 image(s) reviewed."
    assert len(backend.requests) == 20


async def test_overload_answers_busy(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(Step(delay_s=1.0)).then(Step(delay_s=1.0))
    async with running_bot(
        fake_slack, backend, MEDGEMMA_MAX_PENDING="2", MEDGEMMA_BUSY_WAIT_S="0"
    ) as h:
        first = await h.ask("one")
        second = await h.ask("two")
        third = await h.ask("three")
        [busy] = await h.replies(third)
        assert len(await h.replies(first)) == len(await h.replies(second)) == 1
    assert "busy" in busy["text"]
    assert len(backend.requests) == 2


async def test_logs_carry_ids_not_patient_data(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.logs import JsonFormatter, quiet_libraries

    quiet_libraries()  # as `run` configures logging: libraries at WARNING, the bot at DEBUG
    caplog.set_level(logging.DEBUG)
    marker = bytes(range(256))
    png = fake_slack.add_file(
        png_bytes() + marker, name="Roe_Jane_CXR.png", mimetype="image/png", filetype="png"
    )
    backend = FakeBackend().then(Step(error=RuntimeError(SECRET_QUESTION)))
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask(SECRET_QUESTION, files=[png])
        await h.replies(ts)
        ts2 = await h.ask(SECRET_QUESTION, files=[png])
        await h.replies(ts2)
    rendered = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for record in rendered.splitlines():
        json.loads(record)  # every line is structured
    for secret in ("Jane", "Roe", "1961", fake_slack.bot_token, fake_slack.app_token):
        assert secret not in rendered
    assert marker.hex() not in rendered
    assert '"event": "answered"' in rendered and '"request_id"' in rendered


async def test_slack_rate_limits_are_waited_out(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        root = await h.ask("first look?")
        await h.replies(root)
        # A follow-up reads its thread: both that read and the post are rate limited once.
        fake_slack.fail_next("conversations.replies", error="ratelimited", retry_after=1)
        fake_slack.fail_next("chat.postMessage", error="ratelimited", retry_after=1)
        await h.ask("still there?", thread_ts=root, mention=False)
        _, reply = await h.replies(root, count=2)
    assert reply["metadata"]["event_type"] == "medgemma_answer"
    assert len(fake_slack.calls_to("conversations.replies")) == 2


async def test_shutdown_lets_answers_finish_then_tells_the_rest(fake_slack: FakeSlack) -> None:
    from tests.e2e.harness import start_bot, wait_until

    backend = FakeBackend().then(Step(delay_s=0.3)).then(Step(hang=True))
    h = await start_bot(fake_slack, backend)
    quick = await h.ask("quick one")
    await wait_until(lambda: len(backend.requests) == 1)  # steps go in the order asked
    stuck = await h.ask("stuck one")
    await wait_until(lambda: len(backend.requests) == 2)
    await h.runner.stop(drain_s=1.0)
    [answer] = h.bot_replies(quick)
    [notice] = h.bot_replies(stuck)
    assert answer["metadata"]["event_type"] == "medgemma_answer"
    assert "restarting" in notice["text"] and "ask again" in notice["text"]


async def test_without_thread_status_a_placeholder_shows_progress(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    fake_slack.fail_next("assistant.threads.setStatus", error="not_allowed_token_type")
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask("hello", channel="D2", channel_type="im")
        [reply] = await h.replies(ts, channel="D2")
    posted = [p for m, p in fake_slack.calls if m == "chat.postMessage"]
    assert len(posted) == 2 and posted[0]["text"].startswith(":hourglass")
    assert [p["ts"] for m, p in fake_slack.calls if m == "chat.delete"]  # placeholder removed
    assert reply["metadata"]["event_type"] == "medgemma_answer"


async def test_a_burst_of_200_questions_over_50_threads(fake_slack: FakeSlack) -> None:
    from tests.e2e.load import burst, latencies

    backend = FakeBackend()
    # Slack's documented limits hold (Tier 3 thread reads, a post a second per channel),
    # over the fake's compressed minute; the bot waits them out, answers each in turn.
    async with running_bot(fake_slack, backend, MEDGEMMA_MAX_PENDING="256") as h:
        asked = await burst(h, threads=50, per_thread=4, within_s=2.0)
        waited = await latencies(h, asked, timeout_s=120)
    assert len(waited) == 200
    assert len(backend.requests) == 200
    assert "conversations.replies" in fake_slack.web.rates.limited  # the limits did bite
