"""The state contract: a few async operations on ids."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

CancelHandler = Callable[[str, str], None]  # (channel, message ts)


@dataclass(frozen=True)
class Question:
    """A question being answered: where it is and who asked, by id; never its text."""

    channel: str
    ts: str  # the question's message
    thread_ts: str  # where the answer goes
    user: str
    request_id: str
    started_at: float  # Unix time
    owner: str = ""  # the replica answering it
    attempt: int = 0  # how many processes already died answering it
    # "message": the question is a Slack message; "shortcut": it was typed into the
    # "Ask MedGemma" modal and is nowhere in Slack, so it cannot be answered again.
    kind: str = "message"


def new_replica_id() -> str:
    """This process's name in the state's records: host, process id, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class State(Protocol):
    """Shared, bounded, ids-only state; every operation is safe to call concurrently."""

    @property
    def replica(self) -> str:
        """The replica this state speaks for (`Question.owner` of its questions)."""
        ...

    @property
    def shared(self) -> bool:
        """True when other replicas see the same state (their orphans may appear any time)."""
        ...

    async def claim(self, key: str, *, ttl_s: float) -> bool:
        """True for the first caller of `key` within `ttl_s` seconds, across replicas."""
        ...

    async def join_thread(self, channel: str, thread_ts: str) -> None:
        """Remember that the bot is part of this thread."""
        ...

    async def in_thread(self, channel: str, thread_ts: str) -> bool:
        """Whether the bot is part of this thread."""
        ...

    async def cancel(self, channel: str, ts: str) -> None:
        """A question was deleted: tell every replica (and this one) to stop its answer."""
        ...

    def on_cancel(self, handler: CancelHandler) -> None:
        """Call `handler(channel, ts)` for every cancellation, from any replica."""
        ...

    async def begin(self, question: Question) -> None:
        """Record a question in progress."""
        ...

    async def finish(self, channel: str, ts: str) -> None:
        """The question got its one reply (answer or notice): forget it."""
        ...

    async def orphans(self) -> list[Question]:
        """Questions in progress whose replica is gone, each handed to one caller only."""
        ...

    async def start(self) -> None:
        """Connect or load."""
        ...

    async def aclose(self) -> None:
        """Disconnect or save."""
        ...
