"""RedisState against a real redis-server: replicas, orphans, bounds, and Redis going away."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import ConfigError
from bot.state import redis_state
from bot.state.redis_state import RedisState
from tests.e2e.harness import wait_until
from tests.redis_server import running_redis
from tests.state.helpers import Replica, question

PERIOD_S = 1.0 / 3  # a heartbeat period with replica_timeout_s=1


async def test_a_cancellation_reaches_every_replica_once(replica: Replica) -> None:
    replicas = [await replica() for _ in range(3)]
    seen: list[tuple[int, str]] = []
    for i, state in enumerate(replicas):
        state.on_cancel(lambda channel, ts, i=i: seen.append((i, ts)))
    await replicas[1].cancel("C1", "1.1")
    await wait_until(lambda: len(seen) == 3)
    await asyncio.sleep(0.2)
    assert sorted(seen) == [(0, "1.1"), (1, "1.1"), (2, "1.1")]


async def test_a_live_replicas_questions_are_left_alone(replica: Replica) -> None:
    owner, other = await replica(), await replica()
    await owner.begin(question(owner=owner.replica))
    for _ in range(3):
        assert await other.orphans() == []
        await asyncio.sleep(PERIOD_S)


async def test_a_replica_dying_while_recovering_hands_on_the_next_attempt(
    replica: Replica,
) -> None:
    first = await replica()
    await first.begin(question(owner=first.replica))
    await first.aclose()
    second = await replica()
    assert await second.orphans() == []  # suspected only
    await asyncio.sleep(PERIOD_S + 0.05)
    [taken] = await second.orphans()
    assert taken.attempt == 0 and taken.owner == first.replica
    await second.aclose()  # dies before finishing it
    third = await replica()
    await third.orphans()
    await asyncio.sleep(PERIOD_S + 0.05)
    [again] = await third.orphans()
    assert again.attempt == 1 and again.owner == second.replica


async def test_threads_are_bounded_and_expire(
    replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = await replica()
    monkeypatch.setattr(redis_state, "MAX_THREADS", 3)
    for i in range(5):
        await state.join_thread("C1", f"{i}.0")
    remembered = [await state.in_thread("C1", f"{i}.0") for i in range(5)]
    assert remembered == [False, False, True, True, True]
    monkeypatch.setattr(redis_state, "THREAD_TTL_S", 0.2)
    await asyncio.sleep(0.3)
    assert not await state.in_thread("C1", "4.0")


async def test_an_unreachable_server_stops_start_up_without_its_password() -> None:
    state = RedisState(url="redis://:hunter2@127.0.0.1:1/0", replica_timeout_s=1.0)
    with pytest.raises(ConfigError) as caught:
        await state.start()
    assert "cannot reach Redis at 127.0.0.1:1" in caught.value.detail
    assert "hunter2" not in caught.value.detail


async def test_redis_going_away_raises_only_where_a_question_could_be_lost() -> None:
    with running_redis() as url:
        state = RedisState(url=url, replica_timeout_s=1.0)
        await state.start()
    try:
        with pytest.raises(RedisError):  # the event is not acknowledged: Slack retries it
            await state.claim("q:C1:1.1", ttl_s=60)
        with pytest.raises(RedisError):
            await state.in_thread("C1", "1.1")
        # These cost a follow-up or crash-safety only: logged, not raised.
        await state.join_thread("C1", "1.1")
        await state.begin(question())
        await state.finish("C1", "1.1")
        assert await state.orphans() == []
    finally:
        await state.aclose()


async def test_closing_twice_touches_the_server_once(redis_url: str) -> None:
    # A store is closed by whoever stops it (shutdown, a test's teardown), maybe twice:
    # the second close must not reconnect (it once hung a test run in its teardown).
    import redis.asyncio as redis

    watcher = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        state = RedisState(url=redis_url, replica_timeout_s=1.0)
        await state.start()
        await state.aclose()
        before = (await watcher.info("stats"))["total_connections_received"]
        async with asyncio.timeout(5):
            await state.aclose()
        after = (await watcher.info("stats"))["total_connections_received"]
        assert after == before
    finally:
        await watcher.aclose()


async def test_closing_ends_even_when_a_command_swallows_the_cancellation(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python 3.11's asyncio.timeout, which redis-py's commands run under, can turn a
    # cancellation that meets its own deadline into a TimeoutError: the heartbeat then
    # sees a RedisError and beats on, and a close that only cancels waits for ever (a
    # fresh-clone test run hung so, twice, in a test's teardown).
    state = RedisState(url=redis_url, replica_timeout_s=0.3)
    await state.start()
    inside = asyncio.Event()

    async def beat_swallowing_cancellation() -> None:
        inside.set()
        try:
            await asyncio.Event().wait()  # a command waiting for its reply
        except asyncio.CancelledError:
            raise RedisTimeoutError("Timeout reading from socket") from None

    monkeypatch.setattr(state, "_beat_once", beat_swallowing_cancellation)
    await inside.wait()  # the close comes while the heartbeat is inside a beat
    async with asyncio.timeout(5):
        await state.aclose()
