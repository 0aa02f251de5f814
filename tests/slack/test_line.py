"""bot.slack.line: admission by limits and expected wait, slots round robin by person."""

from __future__ import annotations

import pytest

from bot.slack.line import PRIOR_S, Limits, Line

LIMITS = Limits(slots=2, per_person=3, per_channel=5, busy_wait_s=60.0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def key(n: int) -> tuple[str, str]:
    return ("C1", f"{n}.0")


def admit_all(line: Line, people: list[str]) -> None:
    for n, person in enumerate(people):
        assert line.admit(key(n), person=person, channel="C1") is None
        line.wants_slot(key(n))


def test_slots_go_round_robin_by_person() -> None:
    line = Line(Limits(slots=1, per_person=9, per_channel=99, busy_wait_s=999.0))
    admit_all(line, ["ann", "ann", "ann", "ann", "bob", "cy"])
    # ann's first has the slot; then one each, in the order they joined the line.
    assert line.served_order() == [key(1), key(4), key(5), key(2), key(3)]
    line.leave(key(0))
    assert line.served_order() == [key(4), key(5), key(2), key(3)]  # ann to the back


def test_limits_in_flight_per_person_and_channel() -> None:
    line = Line(LIMITS)
    admit_all(line, ["ann", "ann", "ann"])
    assert line.admit(key(9), person="ann", channel="C1") == "person"
    for person, k in [("bob", key(10)), ("cy", key(11))]:
        assert line.admit(k, person=person, channel="C1") is None
    assert line.admit(key(12), person="dee", channel="C1") == "channel"
    assert line.admit(key(13), person="dee", channel="C2") is None
    line.leave(key(0))
    assert line.admit(key(14), person="ann", channel="C2") is None  # room again


def test_the_expected_wait_is_the_line_ahead_times_a_slots_recent_time() -> None:
    clock = Clock()
    line = Line(LIMITS, clock=clock)
    assert line.expected_wait_s("ann") == 0.0  # a slot is free
    admit_all(line, ["ann", "bob"])
    assert line.slot_time_s() == PRIOR_S  # nothing timed yet
    clock.now = 4.0
    line.leave(key(0))
    line.leave(key(1))
    assert line.slot_time_s() == 4.0
    admit_all(line, ["ann", "bob", "cy", "cy", "dee"])  # two answered, three wait
    # cy's next comes after cy's two and dee's one: (3 ahead + 1) x 4 s / 2 slots.
    assert line.expected_wait_s("cy") == pytest.approx(8.0)
    # A newcomer comes after one of cy's and dee's: a round, not cy's backlog.
    assert line.expected_wait_s("eve") == pytest.approx(6.0)


def test_busy_only_over_the_wait_the_settings_allow() -> None:
    clock = Clock()
    line = Line(Limits(slots=1, per_person=9, per_channel=99, busy_wait_s=15.0), clock=clock)
    admit_all(line, ["ann"])  # the slot; the prior says 10 s a question
    assert line.admit(key(1), person="bob", channel="C1") is None  # waits about 10 s
    assert line.admit(key(2), person="cy", channel="C1") == "busy"  # about 20 s
