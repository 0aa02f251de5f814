"""bot.pipeline.decoding.pool: files decoded in processes that a deadline, a deleted question or
another question waiting can stop; budgets per file and per question; a memory limit."""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.errors import DecodeBudgetExceeded
from bot.imaging import DecodedFile
from bot.imaging.budget import MIB, DecodeBudget
from bot.pipeline.decoding import processes
from bot.pipeline.decoding.jobs import Ticket
from bot.pipeline.decoding.pool import DecodePool
from bot.pipeline.decoding.processes import WorkerBroken
from tests.imaging.helpers import DEFAULT

FAKE_WORKER = str(Path(__file__).with_name("fake_worker.py"))
WAIT_S = 30.0  # generous: proves "not a minute", never a speed


def png(size: tuple[int, int] = (16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


@asynccontextmanager
async def pool_of(tmp_path: Path, **budget: Any) -> AsyncIterator[DecodePool]:
    """A pool of fake workers (real decoding, plus the cues of fake_worker.py)."""
    pool = DecodePool(
        budget=DecodeBudget(**budget), command=(sys.executable, FAKE_WORKER, str(tmp_path))
    )
    try:
        yield pool
    finally:
        pool.close()


def ticket(**budget: Any) -> Ticket:
    return Ticket.of(DecodeBudget(**budget))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def until(condition: Any) -> None:
    async with asyncio.timeout(WAIT_S):
        while not condition():  # noqa: ASYNC110 - polling processes' state
            await asyncio.sleep(0.02)


async def test_two_files_decode_at_the_same_time_in_two_processes(tmp_path: Path) -> None:
    # Each "meet" waits inside its process until the other is inside too: one process
    # at a time (or a lock) would leave the first waiting alone, and it would fail.
    async with pool_of(tmp_path) as pool:
        one = Ticket.of(DecodeBudget())
        both = await asyncio.gather(
            pool.decode(b"meet 1", options=DEFAULT, ticket=one),
            pool.decode(b"meet 2", options=DEFAULT, ticket=one),
        )
        assert [f.kind for f in both] == ["photo", "photo"]
        assert len(set(pool.pids)) == 2


async def test_a_file_past_its_deadline_is_killed_and_refused(tmp_path: Path) -> None:
    async with pool_of(tmp_path, file_seconds=1.0) as pool:
        stuck = asyncio.ensure_future(pool.decode(b"sleep", options=DEFAULT, ticket=ticket()))
        await until(lambda: pool.decoding == 1)
        [pid] = pool.pids
        with pytest.raises(DecodeBudgetExceeded):
            await asyncio.wait_for(stuck, WAIT_S)
        await until(lambda: not alive(pid))
        # A fresh process takes the next file.
        assert (await pool.decode(png(), options=DEFAULT, ticket=ticket())).kind == "photo"


async def test_a_deleted_question_stops_its_decoding_process(tmp_path: Path) -> None:
    async with pool_of(tmp_path, file_seconds=120.0) as pool:  # no deadline in the way
        stuck = asyncio.ensure_future(pool.decode(b"sleep", options=DEFAULT, ticket=ticket()))
        await until(lambda: pool.decoding == 1)
        [pid] = pool.pids
        stuck.cancel()
        await until(lambda: not alive(pid))
        assert pool.decoding == 0
        assert (await pool.decode(png(), options=DEFAULT, ticket=ticket())).kind == "photo"


async def test_a_bystander_is_not_kept_waiting_by_a_question_holding_every_process(
    tmp_path: Path,
) -> None:
    async with pool_of(tmp_path, file_seconds=120.0, question_seconds=240.0) as pool:
        hog = ticket(file_seconds=120.0, question_seconds=240.0)
        bomb = [
            asyncio.ensure_future(pool.decode(b"sleep", options=DEFAULT, ticket=hog))
            for _ in range(2)
        ]
        await until(lambda: pool.decoding == 2)
        # Without preemption the bystander would wait two minutes for a process.
        photo = await asyncio.wait_for(pool.decode(png(), options=DEFAULT, ticket=ticket()), WAIT_S)
        assert photo.kind == "photo"
        # The stopped file went back in line, and takes the freed process again.
        assert not any(task.done() for task in bomb)
        await until(lambda: hog.running == 2)
        for task in bomb:
            task.cancel()
        await asyncio.gather(*bomb, return_exceptions=True)


async def test_a_question_cannot_spend_more_decoding_time_than_its_budget(tmp_path: Path) -> None:
    async with pool_of(tmp_path, file_seconds=1.0) as pool:
        one = ticket(question_seconds=1.5)
        for _ in range(2):
            with pytest.raises(DecodeBudgetExceeded):
                await asyncio.wait_for(pool.decode(b"sleep", options=DEFAULT, ticket=one), WAIT_S)
        assert one.spent
        with pytest.raises(DecodeBudgetExceeded):  # refused before any process takes it
            await pool.decode(png(), options=DEFAULT, ticket=one)
        assert pool.decoding == 0


async def test_a_question_cannot_decode_more_pixels_than_its_budget(tmp_path: Path) -> None:
    async with pool_of(tmp_path) as pool:
        one = ticket(question_pixels=30_000)
        assert (await pool.decode(png((100, 100)), options=DEFAULT, ticket=one)).images
        assert one.pixels_left == 20_000  # what the file did not decode came back
        with pytest.raises(DecodeBudgetExceeded):
            await pool.decode(png((150, 150)), options=DEFAULT, ticket=one)


async def test_a_file_over_the_memory_limit_fails_in_its_process(tmp_path: Path) -> None:
    async with pool_of(tmp_path, worker_memory=768 * MIB) as pool:
        with pytest.raises(DecodeBudgetExceeded):
            await pool.decode(b"hog", options=DEFAULT, ticket=ticket())
        assert (await pool.decode(png(), options=DEFAULT, ticket=ticket())).kind == "photo"


async def test_too_little_memory_to_start_is_the_operators_problem() -> None:
    pool = DecodePool(budget=DecodeBudget(worker_memory=40 * MIB))  # the real worker
    try:
        with pytest.raises(WorkerBroken):
            await pool.decode(png(), options=DEFAULT, ticket=ticket())
    finally:
        pool.close()


def test_a_reply_may_only_name_the_types_of_a_decoded_file() -> None:
    with pytest.raises(WorkerBroken):  # the worker reads hostile bytes: its replies are checked
        processes.unpickle(pickle.dumps(("ok", print, 0)), [])
    with pytest.raises(WorkerBroken):
        processes.outcome(("error", ("ConfigError", "x", {}), 0))
    with pytest.raises(WorkerBroken):
        bare = DecodedFile("photo", (), "png")
        processes.outcome(("ok", bare, [np.zeros((2, 2))], [None], 0))  # not RGB
    refused = processes.outcome(("error", ("ImageTooLarge", "x", {}), 7))
    assert type(refused[0]).__name__ == "ImageTooLarge" and refused[1] == 7


def test_decoding_processes_get_no_credentials() -> None:
    environment = {
        "PATH": "/usr/bin",
        "PYTHONPATH": "/app",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_SIGNING_SECRET": "s",
        "MEDGEMMA_API_KEY": "k",
        "HF_TOKEN": "hf_1",
        "MEDGEMMA_REDIS_URL": "redis://:pw@redis",
        "MEDGEMMA_MAX_PIXELS": "1000000",
    }
    assert processes.worker_environment(environment) == {
        "PATH": "/usr/bin",
        "PYTHONPATH": "/app",
        "MEDGEMMA_MAX_PIXELS": "1000000",
    }
