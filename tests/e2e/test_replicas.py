"""Three replicas on one real Redis, Slack spreading events and retries over them at random.

Slack gives each event to one of the app's Socket Mode connections, retries included
(bolt-python #448, #1071): exactly-once answers and cancellations need the shared store.
Each replica here is a whole bot (its own app, RedisState connection, backend and socket)
in this process, so each one's backend can be asked what it answered;
tests/e2e/test_processes.py runs, kills and stops real processes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.harness import Harness, findings, start_bot, wait_until
from tests.fakes.backend import FakeBackend, Step, digest
from tests.fakes.slack import FakeSlack, message_deleted_event, new_event_id

REPLICAS = 3
# 600 envelopes arrive at once: on two loaded cores the last are acknowledged seconds later.
ACK_WAIT_S = 60.0


@pytest.fixture
async def replicas(fake_slack: FakeSlack, redis_url: str) -> AsyncIterator[list[Harness]]:
    """Three bots sharing `redis_url`; connection i of the fake belongs to bot i."""
    # A compressed Slack minute: three apps.connections.open (Tier 1) in a row.
    fake_slack.web.rates.minute_s = 0.5
    bots: list[Harness] = []
    try:
        for i in range(REPLICAS):
            bots.append(await start_bot(fake_slack, FakeBackend(), MEDGEMMA_REDIS_URL=redis_url))
            await wait_until(lambda i=i: len(fake_slack.socket.connections) == i + 1)  # type: ignore[misc]
        yield bots
    finally:
        for bot in bots:
            await bot.runner.stop(drain_s=5)


async def send(
    fake: FakeSlack, event: dict[str, Any], *, event_id: str, retry: int = 0, to: int | None = None
) -> None:
    """One envelope (a retry keeps its event_id), acknowledged by whichever bot got it.

    One that lands on a connection being replaced is never acknowledged: Slack then
    sends it again (up to three retries), and so does this.
    """
    for attempt in range(retry, retry + 4):
        reason = "timeout" if attempt else ""
        envelope = await fake.send_event(
            event, event_id=event_id, retry_attempt=attempt, retry_reason=reason, to=to
        )
        try:
            await fake.wait_acked(envelope, timeout=ACK_WAIT_S / 2)
            return
        except TimeoutError:
            if to is not None:
                raise
    raise AssertionError(f"event {event_id} never acknowledged")


async def settle(bots: list[Harness]) -> None:
    """No replica has anything left to do (each acknowledged what it got)."""
    await wait_until(lambda: all(bot.slack.deps.jobs.idle for bot in bots), timeout_s=60)


def replies(bots: list[Harness], channel: str, ts: str) -> list[dict[str, Any]]:
    return bots[0].bot_replies(ts, channel)


async def test_each_of_100_questions_is_answered_once(
    fake_slack: FakeSlack, replicas: list[Harness]
) -> None:
    fake_slack.socket.pick = "random"
    fake_slack.socket.rng = random.Random(448)
    asked: list[tuple[str, str, str]] = []
    sends = []
    for i in range(100):
        channel, question = f"C{i % 10}", f"case {i}"
        events = fake_slack.post_user_message(
            channel=channel, text=f"<@{fake_slack.bot_user_id}> {question}", user=f"U{i:03d}"
        )  # app_mention and message, same ts; a department: one person a case
        asked.append((channel, str(events[0]["ts"]), question))
        for event in events:
            event_id = new_event_id()
            sends += [send(fake_slack, event, event_id=event_id, retry=r) for r in (0, 1, 2)]
    started = time.monotonic()
    await asyncio.gather(*sends)
    await wait_until(lambda: all(replies(replicas, c, ts) for c, ts, _ in asked), timeout_s=120)
    await settle(replicas)
    seconds = time.monotonic() - started
    for channel, ts, question in asked:
        [reply] = replies(replicas, channel, ts)
        assert findings(reply).startswith(f"Findings for {digest(question)}")
    served = [len(bot.backend.requests) for bot in replicas]  # type: ignore[attr-defined]
    assert sum(served) == 100
    assert all(served), served  # the events really were spread over the replicas
    assert set(fake_slack.socket.delivered_to) == {0, 1, 2}
    print(f"100 questions, 600 envelopes, 3 replicas: {seconds:.1f} s; answered {served}")


async def test_a_follow_up_reaches_a_replica_that_never_saw_the_thread(
    fake_slack: FakeSlack, replicas: list[Harness]
) -> None:
    [mention, message] = fake_slack.post_user_message(
        channel="C1", text=f"<@{fake_slack.bot_user_id}> first look?"
    )
    root = str(mention["ts"])
    await send(fake_slack, mention, event_id=new_event_id(), to=0)
    await send(fake_slack, message, event_id=new_event_id(), to=0)
    await wait_until(lambda: len(replies(replicas, "C1", root)) == 1)
    for to in (1, 2):
        [follow_up] = fake_slack.post_user_message(channel="C1", text="and?", thread_ts=root)
        await send(fake_slack, follow_up, event_id=new_event_id(), to=to)
        await wait_until(lambda to=to: len(replies(replicas, "C1", root)) == to + 1)  # type: ignore[misc]
    await settle(replicas)
    assert len(replies(replicas, "C1", root)) == 3
    assert [len(bot.backend.requests) for bot in replicas] == [1, 1, 1]  # type: ignore[attr-defined]


async def test_a_group_dm_mention_on_two_replicas_is_answered_once(
    fake_slack: FakeSlack, replicas: list[Harness]
) -> None:
    events = fake_slack.post_user_message(
        channel="G1", text=f"<@{fake_slack.bot_user_id}> thoughts?", channel_type="mpim"
    )
    assert [e["type"] for e in events] == ["app_mention", "message"]  # both answer routes
    ids = [new_event_id() for _ in events]
    await asyncio.gather(
        send(fake_slack, events[0], event_id=ids[0], to=0),
        send(fake_slack, events[1], event_id=ids[1], to=1),
        send(fake_slack, events[0], event_id=ids[0], retry=1, to=2),
    )
    ts = str(events[0]["ts"])
    await wait_until(lambda: bool(replies(replicas, "G1", ts)))
    await settle(replicas)
    assert len(replies(replicas, "G1", ts)) == 1
    assert sum(len(bot.backend.requests) for bot in replicas) == 1  # type: ignore[attr-defined]


async def test_a_deletion_delivered_to_another_replica_stops_the_answer(
    fake_slack: FakeSlack, replicas: list[Harness]
) -> None:
    answering = replicas[0].backend
    answering.then(Step(hang=True))  # type: ignore[attr-defined]
    [mention, _] = fake_slack.post_user_message(
        channel="C1", text=f"<@{fake_slack.bot_user_id}> long one"
    )
    ts = str(mention["ts"])
    await send(fake_slack, mention, event_id=new_event_id(), to=0)
    await wait_until(lambda: bool(answering.requests))  # type: ignore[attr-defined]
    deleted = message_deleted_event(channel="C1", deleted_ts=ts)
    await send(fake_slack, deleted, event_id=new_event_id(), to=2)
    await settle(replicas)
    assert answering.cancelled == 1  # type: ignore[attr-defined]
    assert replies(replicas, "C1", ts) == []
