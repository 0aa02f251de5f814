"""Tests for bot.slack.dedupe.Seen."""

from __future__ import annotations

from bot.slack.dedupe import Seen


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


KEY = ("C1", "1700000000.000100")


def test_first_time_once_then_not() -> None:
    seen = Seen(clock=Clock())
    assert seen.first_time(KEY) is True
    assert seen.first_time(KEY) is False
    assert seen.first_time(KEY) is False


def test_keys_are_independent() -> None:
    seen = Seen(clock=Clock())
    assert seen.first_time(("C1", "1.0")) is True
    assert seen.first_time(("C2", "1.0")) is True
    assert seen.first_time(("C1", "2.0")) is True
    assert seen.first_time(("C1", "1.0")) is False


def test_forgets_after_the_time_limit() -> None:
    clock = Clock()
    seen = Seen(ttl_s=60, clock=clock)
    seen.first_time(KEY)
    clock.now += 59.9
    assert seen.first_time(KEY) is False  # still within the limit
    clock.now += 0.1
    assert seen.first_time(KEY) is True  # forgotten after 60 s, then remembered again
    assert seen.first_time(KEY) is False


def test_repeats_do_not_extend_the_time_limit() -> None:
    clock = Clock()
    seen = Seen(ttl_s=60, clock=clock)
    seen.first_time(KEY)
    clock.now += 50
    assert seen.first_time(KEY) is False
    clock.now += 20  # 70 s after the first offer
    assert seen.first_time(KEY) is True


def test_only_old_keys_expire() -> None:
    clock = Clock()
    seen = Seen(ttl_s=60, clock=clock)
    seen.first_time(("C", "old"))
    clock.now += 40
    seen.first_time(("C", "new"))
    clock.now += 30  # old is 70 s old, new 30 s
    assert seen.first_time(("C", "new")) is False
    assert seen.first_time(("C", "old")) is True


def test_bounded_size_drops_the_oldest_key() -> None:
    seen = Seen(max_keys=2, clock=Clock())
    for key in (("C", "a"), ("C", "b"), ("C", "c")):
        assert seen.first_time(key) is True
    assert seen.first_time(("C", "b")) is False
    assert seen.first_time(("C", "c")) is False
    assert seen.first_time(("C", "a")) is True  # it was dropped to keep two keys
