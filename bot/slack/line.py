"""The line for the bot's answer slots: fair across people, "busy" only for a long wait.

MEDGEMMA_MAX_PENDING questions are answered at once (their slots). A question is
admitted unless its asker already has MEDGEMMA_MAX_PER_PERSON questions in flight
(answered or waiting), its channel MEDGEMMA_MAX_PER_CHANNEL, or its expected wait is
over MEDGEMMA_BUSY_WAIT_S. An admitted question waits for a slot in line: slots go
round robin by person (each person with questions waiting gets one in turn, in the order
they joined the line), so one person's backlog never delays the next person's first
question.

The expected wait is the recent time a question holds a slot (the mean of the last
`RECENT` answers, `PRIOR_S` before any), divided by the number of slots, times the
questions the new one would find ahead of it plus one; nothing while a slot is free.
A burst the bot clears in seconds waits in line (with its place shown) and is answered.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

Key = tuple[str, str]  # (channel, message ts)
RECENT = 20  # answers whose slot time makes the estimate
PRIOR_S = 10.0  # a slot's time before any answer was timed
MAX_WAITING_PER_SLOT = 16  # a hard bound on the line, whatever the estimate says


@dataclass
class Ticket:
    """One admitted question: who asked where, and its slot once granted."""

    person: str
    channel: str
    granted: asyncio.Event = field(default_factory=asyncio.Event)
    since: float = 0.0  # when it got its slot
    on_place: Callable[[int], None] | None = None  # told the questions ahead while waiting


@dataclass(frozen=True)
class Limits:
    """The line's settings."""

    slots: int
    per_person: int
    per_channel: int
    busy_wait_s: float


class Line:
    """Admission, fair order and the wait estimate; the asyncio side is `Jobs`'."""

    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._admitted: dict[Key, Ticket] = {}
        self._waiting: dict[str, deque[Key]] = {}  # by person, in arrival order
        self._order: deque[str] = deque()  # people with questions waiting, round robin
        self._running: set[Key] = set()
        self._recent: deque[float] = deque(maxlen=RECENT)
        self._people: Counter[str] = Counter()
        self._channels: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._admitted)

    def admit(self, key: Key, *, person: str, channel: str) -> str | None:
        """Take the question in line; why not ("person", "channel", "busy") otherwise."""
        limits = self.limits
        if self._people[person] >= limits.per_person:
            return "person"
        if self._channels[channel] >= limits.per_channel:
            return "channel"
        unserved = len(self._admitted) - len(self._running)
        waits = unserved >= limits.slots * MAX_WAITING_PER_SLOT
        if waits or self.expected_wait_s(person) > limits.busy_wait_s:
            return "busy"
        self._admitted[key] = Ticket(person=person, channel=channel)
        self._people[person] += 1
        self._channels[channel] += 1
        return None

    def expected_wait_s(self, person: str) -> float:
        """How long a new question of `person` would wait for its slot (0: one is free)."""
        unserved = len(self._admitted) - len(self._running)
        if len(self._running) + unserved < self.limits.slots:
            return 0.0
        return (self._ahead_of_new(person) + 1) * self.slot_time_s() / self.limits.slots

    def slot_time_s(self) -> float:
        """How long a question recently held its slot."""
        return sum(self._recent) / len(self._recent) if self._recent else PRIOR_S

    def _ahead_of_new(self, person: str) -> int:
        """Questions served before a new one of `person`: round robin, one each a round."""
        waiting: Counter[str] = Counter()
        for key, ticket in self._admitted.items():
            if key not in self._running:
                waiting[ticket.person] += 1
        mine = waiting[person]  # the new one is served in round mine + 1
        return mine + sum(min(n, mine + 1) for who, n in waiting.items() if who != person)

    def wants_slot(self, key: Key) -> Ticket:
        """The question is ready to be answered: a slot now, or a place in line."""
        ticket = self._admitted[key]
        queue = self._waiting.setdefault(ticket.person, deque())
        if not queue:
            self._order.append(ticket.person)
        queue.append(key)
        self._dispatch()
        return ticket

    def leave(self, key: Key) -> None:
        """The question is over (answered, failed, deleted): its slot goes to the next."""
        ticket = self._admitted.pop(key, None)
        if ticket is None:
            return
        self._people[ticket.person] -= 1
        self._channels[ticket.channel] -= 1
        self._people += Counter()  # drop zero counts
        self._channels += Counter()
        if key in self._running:
            self._running.discard(key)
            self._recent.append(self._clock() - ticket.since)
        queue = self._waiting.get(ticket.person)
        if queue is not None and key in queue:
            queue.remove(key)
            if not queue:
                del self._waiting[ticket.person]
                self._order.remove(ticket.person)
        self._dispatch()

    def _dispatch(self) -> None:
        """Give free slots round robin by person; tell the rest their place."""
        while self._order and len(self._running) < self.limits.slots:
            person = self._order.popleft()
            queue = self._waiting[person]
            key = queue.popleft()
            if queue:
                self._order.append(person)  # to the back: the next person goes first
            else:
                del self._waiting[person]
            ticket = self._admitted[key]
            ticket.since = self._clock()
            self._running.add(key)
            ticket.granted.set()
        for ahead, key in enumerate(self.served_order()):
            ticket = self._admitted[key]
            if ticket.on_place is not None:
                ticket.on_place(ahead)

    def ahead_of(self, key: Key) -> int:
        """How many waiting questions get a slot before this one (0 when it has one)."""
        order = self.served_order()
        return order.index(key) if key in order else 0

    def served_order(self) -> list[Key]:
        """The questions waiting for a slot, in the order they will get one."""
        queues = [list(self._waiting[person]) for person in self._order]
        rounds = max((len(q) for q in queues), default=0)
        return [q[r] for r in range(rounds) for q in queues if r < len(q)]
