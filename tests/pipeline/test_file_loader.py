"""bot.pipeline.file_loader: the imaging set-up, the size cap, and decoding threads in parallel."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from PIL import Image

from bot.errors import FileTooLarge
from bot.imaging import DecodedFile, ImagingOptions
from bot.imaging.setup import SILENT
from bot.pipeline.file_loader import DECODE_THREADS, FileLoader
from bot.pipeline.messages import Message, SharedFile
from bot.settings import Settings
from tests.imaging.helpers import encode

# The module, not the function `bot.imaging.decode` its package exports under that name.
DECODE_MODULE = sys.modules["bot.imaging.decode"]


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


async def test_two_decodes_run_at_the_same_time(
    loader: FileLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each decode waits inside the decoder until the other is inside too.

    Under a decoding lock (or one thread) the first would wait alone and time out.
    """
    assert DECODE_THREADS >= 2
    both_inside = threading.Barrier(2, timeout=10)
    decode_raster = DECODE_MODULE.decode_raster

    def meeting_decoder(data: bytes, *, kind: str, options: ImagingOptions) -> DecodedFile:
        both_inside.wait()  # raises BrokenBarrierError (the file is left out) on time-out
        return decode_raster(data, kind=kind, options=options)

    monkeypatch.setattr(DECODE_MODULE, "decode_raster", meeting_decoder)
    thread = [message(BytesFile("F1", png(0)), BytesFile("F2", png(60)))]
    decoded = await loader.decode_thread(thread)
    assert decoded.skipped == ()
    assert [f.kind for f in decoded.messages[0].files] == ["photo", "photo"]


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
