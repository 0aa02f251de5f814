"""The stores under test, started for a test and closed after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from bot.state import State
from bot.state.memory import MemoryState
from bot.state.redis_state import RedisState
from tests.state.helpers import MakeState, Replica

StateT = TypeVar("StateT", bound=State)
REPLICA_TIMEOUT_S = 1.0  # short, so tests see a stopped replica's questions taken over


class Start(Protocol):
    """Starts a store and closes it after the test."""

    async def __call__(self, state: StateT) -> StateT: ...


@pytest.fixture
async def started() -> AsyncIterator[Start]:
    """The stores a test starts, closed when it ends."""
    made: list[State] = []

    async def start(state: StateT) -> StateT:
        await state.start()
        made.append(state)
        return state

    yield start
    for state in made:
        await state.aclose()


@pytest.fixture
def replica(redis_url: str, started: Start) -> Replica:
    """Started RedisStates on one server: each call is another replica."""

    async def make() -> RedisState:
        return await started(RedisState(url=redis_url, replica_timeout_s=REPLICA_TIMEOUT_S))

    return make


@pytest.fixture(params=["memory", "redis"])
def make_state(request: pytest.FixtureRequest, tmp_path: Path, started: Start) -> MakeState:
    """Started states of one kind; each call is another replica (redis) or process."""

    async def make() -> State:
        if request.param == "memory":
            return await started(MemoryState(path=tmp_path / "state.json"))
        return await request.getfixturevalue("replica")()

    return make
