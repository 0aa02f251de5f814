"""The State contract, held by both stores: MemoryState and RedisState (a real Redis)."""

from __future__ import annotations

import asyncio

from bot.state import Question
from tests.e2e.harness import wait_until
from tests.state.helpers import MakeState, question


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
