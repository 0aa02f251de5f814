"""bot.pipeline.file_loader: the imaging set-up, the size cap, decoding processes in parallel."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from bot.errors import FileTooLarge
from bot.imaging.setup import SILENT
from bot.pipeline.decoding.pool import DecodePool
from bot.pipeline.file_loader import FileLoader, decode_budget
from bot.pipeline.messages import Message, SharedFile
from bot.settings import Settings
from tests.imaging.helpers import encode

FAKE_WORKER = str(Path(__file__).with_name("fake_worker.py"))


@dataclass
class BytesFile:
    """A shared file held in memory; counts its reads."""

    key: str
    data: bytes
    declared: int | None = None
    reads: list[str] = field(default_factory=list)

    @property
    def size(self) -> int | None:
        return self.declared

    async def read(self) -> bytes:
        self.reads.append(self.key)
        return self.data


@pytest.fixture
def loader() -> Iterator[FileLoader]:
    files = FileLoader(settings=Settings(max_file_mb=1.0))
    yield files
    files.close()


def message(*files: SharedFile) -> Message[SharedFile]:
    return Message("user", "what is this?", files=files)


def png(shade: int) -> bytes:
    return encode(Image.new("RGB", (64, 48), (shade, shade, shade)), "PNG")


async def test_two_files_decode_at_the_same_time_outside_the_bot(
    loader: FileLoader, tmp_path: Path
) -> None:
    """Each file waits inside its decoding process until the other is inside too.

    One process at a time (or a lock) would leave the first waiting alone, and it would fail.
    """
    loader.decoders.close()
    loader.decoders = DecodePool(
        budget=decode_budget(Settings()), command=(sys.executable, FAKE_WORKER, str(tmp_path))
    )
    thread = [message(BytesFile("F1", b"meet 1"), BytesFile("F2", b"meet 2"))]
    decoded = await loader.decode_thread(thread)
    assert decoded.skipped == ()
    assert [f.kind for f in decoded.messages[0].files] == ["photo", "photo"]
    assert len(loader.decoders.pids) == 2 and os.getpid() not in loader.decoders.pids


async def test_the_files_of_one_question_share_its_pixel_budget() -> None:
    # A 1 MP pixel cap: one question's files decode at most 6 MP together (3 files of 2 MP).
    files = FileLoader(settings=Settings(max_pixels=1_000_000))
    try:
        frame = encode(Image.new("L", (1000, 1000)), "PNG")
        seven = [BytesFile(f"F{n}", frame) for n in range(7)]
        decoded = await files.decode_thread([message(*seven)])
        assert len(decoded.messages[0].files) == 6 and len(decoded.skipped) == 1
        # The next question has a budget of its own.
        again = await files.decode_thread([message(BytesFile("G", frame))])
        assert len(again.messages[0].files) == 1
    finally:
        files.close()


async def test_a_file_declared_over_the_cap_is_refused_unread(loader: FileLoader) -> None:
    big = BytesFile("F1", png(0), declared=2**20 + 1)
    with pytest.raises(FileTooLarge) as caught:
        await loader.decode_thread([message(big)])
    assert caught.value.params == {"limit_mb": "1.0"}
    assert big.reads == []
    at_cap = BytesFile("F2", png(0), declared=2**20)
    assert (await loader.decode_thread([message(at_cap)])).messages[0].files


def test_building_a_loader_sets_the_imaging_libraries_up() -> None:
    pydicom = logging.getLogger("pydicom")
    pydicom.setLevel(logging.WARNING)  # as pydicom leaves it
    FileLoader(settings=Settings()).close()
    assert pydicom.level == SILENT
