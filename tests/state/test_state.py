"""The State contract, held by both stores: MemoryState and RedisState (a real Redis)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.state import Question, State
from bot.state.memory import MemoryState
from bot.state.redis_state import RedisState
from tests.e2e.harness import wait_until

MakeState = Callable[[], Awaitable[State]]


def question(ts: str = "1.1", *, owner: str = "", attempt: int = 0) -> Question:
    return Question(
        channel="C1",
        ts=ts,
        thread_ts=ts,
        user="U1",
        request_id="ABCD1234",
        started_at=time.time(),
        owner=owner,
        attempt=attempt,
    )


@pytest.fixture(params=["memory", "redis"])
async def make_state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeState]:
    """Started states of one kind; each call is another replica (redis) or process."""
    made: list[State] = []

    async def make() -> State:
        if request.param == "memory":
            state: State = MemoryState(path=tmp_path / "state.json")
        else:
            url = request.getfixturevalue("redis_url")
            state = RedisState(url=url, replica_timeout_s=1.0)
        await state.start()
        made.append(state)
        return state

    yield make
    for state in made:
        await state.aclose()


async def test_a_key_is_claimed_once_until_it_expires(make_state: MakeState) -> None:
    state = await make_state()
    assert await state.claim("q:C1:1.1", ttl_s=0.3)
    assert not await state.claim("q:C1:1.1", ttl_s=0.3)
    assert await state.claim("q:C1:1.2", ttl_s=0.3)
    await asyncio.sleep(0.4)
    assert await state.claim("q:C1:1.1", ttl_s=0.3)


async def test_threads_joined_are_remembered(make_state: MakeState) -> None:
    state = await make_state()
    assert not await state.in_thread("C1", "1.1")
    await state.join_thread("C1", "1.1")
    assert await state.in_thread("C1", "1.1")
    assert not await state.in_thread("C2", "1.1")


async def test_a_cancellation_reaches_the_cancelling_replica(make_state: MakeState) -> None:
    state = await make_state()
    seen: list[tuple[str, str]] = []
    state.on_cancel(lambda channel, ts: seen.append((channel, ts)))
    await state.cancel("C1", "1.1")
    await wait_until(lambda: seen == [("C1", "1.1")])


async def test_finished_questions_are_no_orphans(make_state: MakeState) -> None:
    first = await make_state()
    q = question(owner=first.replica)
    await first.begin(q)
    await first.finish(q.channel, q.ts)
    await first.aclose()
    second = await make_state()
    found = await second.orphans()
    await asyncio.sleep(0.5)  # redis takes an orphan once it is older than a heartbeat period
    assert found + await second.orphans() == []


async def test_a_stopped_replicas_question_goes_to_one_successor(make_state: MakeState) -> None:
    first = await make_state()
    q = question(owner=first.replica)
    await first.begin(q)
    await first.aclose()  # what is still recorded is an orphan now
    # One file belongs to one process; replicas sharing Redis race for the question.
    heirs = [await make_state() for _ in range(3 if first.shared else 1)]

    async def taken() -> list[Question]:
        found = await asyncio.gather(*(heir.orphans() for heir in heirs))
        return [q for each in found for q in each]

    handed = await taken()
    if not handed:  # redis: taken once its owner missed a whole heartbeat period
        await asyncio.sleep(0.5)
        handed = await taken()
    assert handed == [q]
    assert await taken() == []  # once only
