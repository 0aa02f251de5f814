"""Tests for bot.pipeline.cache.ImageCache: byte cap, age limit and shared loads."""

from __future__ import annotations

import asyncio

import pytest
from PIL import Image

from bot.imaging.types import DecodedFile, ModelImage
from bot.pipeline.cache import ImageCache


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def decoded(side: int = 10) -> DecodedFile:
    """A file of one RGB image: 3 * side * side bytes."""
    return DecodedFile("photo", (ModelImage(Image.new("RGB", (side, side))),), "png")


SIZE = 3 * 10 * 10  # bytes of decoded()


def cache(*, entries: float = 10, ttl_s: float = 60, clock: Clock | None = None) -> ImageCache:
    """A cache holding `entries` default files."""
    return ImageCache(max_bytes=int(entries * SIZE), ttl_s=ttl_s, clock=clock or Clock())


def test_put_then_get() -> None:
    c = cache()
    value = decoded()
    c.put("F1", value)
    assert c.get("F1") is value
    assert c.get("F2") is None
    assert len(c) == 1
    assert c.nbytes == SIZE


def test_byte_cap_evicts_the_least_recently_used() -> None:
    c = cache(entries=2.5)
    a, b, d = decoded(), decoded(), decoded()
    c.put("a", a)
    c.put("b", b)
    assert c.get("a") is a  # a is now the most recently used
    c.put("d", d)
    assert c.get("b") is None
    assert c.get("a") is a
    assert c.get("d") is d
    assert c.nbytes == 2 * SIZE


def test_eviction_frees_as_much_as_needed() -> None:
    c = cache(entries=3)
    for key in "abc":
        c.put(key, decoded())
    big = decoded(side=14)  # 588 bytes: needs two small entries gone
    c.put("big", big)
    assert [c.get(k) is not None for k in "abc"] == [False, False, True]
    assert c.get("big") is big
    assert c.nbytes == SIZE + 3 * 14 * 14


def test_replacing_a_key_counts_its_bytes_once() -> None:
    c = cache()
    c.put("a", decoded())
    newer = decoded(side=5)
    c.put("a", newer)
    assert c.get("a") is newer
    assert (len(c), c.nbytes) == (1, 3 * 5 * 5)


def test_value_bigger_than_the_cap_is_not_kept() -> None:
    c = cache(entries=1)
    c.put("small", decoded())
    c.put("huge", decoded(side=11))
    assert c.get("huge") is None
    assert c.get("small") is not None  # nothing evicted for it


def test_entries_older_than_the_limit_are_gone() -> None:
    clock = Clock()
    c = cache(ttl_s=60, clock=clock)
    c.put("a", decoded())
    clock.now += 59.9
    assert c.get("a") is not None
    clock.now += 0.1  # 60 s old: gone
    assert c.get("a") is None
    assert (len(c), c.nbytes) == (0, 0)


def test_reading_does_not_extend_the_age_limit() -> None:
    clock = Clock()
    c = cache(ttl_s=60, clock=clock)
    c.put("a", decoded())
    clock.now += 50
    assert c.get("a") is not None
    clock.now += 20
    assert c.get("a") is None


class Loader:
    """Counts calls; each call waits for `release` and then returns or raises."""

    def __init__(self, result: DecodedFile | BaseException) -> None:
        self.result = result
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> DecodedFile:
        self.calls += 1
        self.started.set()
        await self.release.wait()
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


async def test_get_or_load_caches_the_result() -> None:
    c = cache()
    load = Loader(decoded())
    load.release.set()
    first = await c.get_or_load("F1", load)
    second = await c.get_or_load("F1", load)
    assert first is second is load.result
    assert load.calls == 1


async def test_concurrent_callers_share_one_load() -> None:
    c = cache()
    load = Loader(decoded())
    callers = [asyncio.create_task(c.get_or_load("F1", load)) for _ in range(5)]
    await load.started.wait()
    await asyncio.sleep(0)
    load.release.set()
    results = await asyncio.gather(*callers)
    assert load.calls == 1
    assert all(r is load.result for r in results)


async def test_different_keys_load_separately() -> None:
    c = cache()
    load = Loader(decoded())
    load.release.set()
    await asyncio.gather(c.get_or_load("F1", load), c.get_or_load("F2", load))
    assert load.calls == 2


async def test_a_failure_reaches_every_caller_and_is_not_cached() -> None:
    c = cache()
    failing = Loader(OSError("download failed"))
    callers = [asyncio.create_task(c.get_or_load("F1", failing)) for _ in range(3)]
    await failing.started.wait()
    await asyncio.sleep(0)
    failing.release.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert failing.calls == 1
    assert all(isinstance(r, OSError) for r in results)
    assert c.get("F1") is None

    working = Loader(decoded())
    working.release.set()
    assert await c.get_or_load("F1", working) is working.result
    assert working.calls == 1


async def test_a_cancelled_first_loader_lets_a_waiter_load_itself() -> None:
    c = cache()
    first_load = Loader(decoded())
    first = asyncio.create_task(c.get_or_load("F1", first_load))
    await first_load.started.wait()
    second_load = Loader(decoded())
    second_load.release.set()
    second = asyncio.create_task(c.get_or_load("F1", second_load))
    await asyncio.sleep(0)  # the second caller is now waiting on the first load
    assert second_load.calls == 0
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second is second_load.result
    assert second_load.calls == 1
    assert c.get("F1") is second_load.result


async def test_a_cancelled_waiter_does_not_cancel_the_load() -> None:
    c = cache()
    load = Loader(decoded())
    first = asyncio.create_task(c.get_or_load("F1", load))
    await load.started.wait()
    waiter = asyncio.create_task(c.get_or_load("F1", load))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    load.release.set()
    assert await first is load.result
    assert load.calls == 1
    assert c.get("F1") is load.result


async def test_a_loaded_value_bigger_than_the_cap_is_served_not_kept() -> None:
    c = cache(entries=1)
    load = Loader(decoded(side=20))
    load.release.set()
    assert await c.get_or_load("F1", load) is load.result
    assert c.get("F1") is None
