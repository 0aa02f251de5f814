"""What the state tests share besides fixtures: a question, and the fixtures' types."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bot.state import Question, State
from bot.state.redis_state import RedisState

MakeState = Callable[[], Awaitable[State]]
Replica = Callable[[], Awaitable[RedisState]]


def question(ts: str = "1.1", *, owner: str = "", attempt: int = 0) -> Question:
    """A question in channel C1, asked in its own thread."""
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
