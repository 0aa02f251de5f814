"""Real sizes at the shipped settings: a zipped 300-slice CT series (about 160 MB) is
downloaded and decoded, within the decode budgets. The slices here are small (the
count is what matters); bench/ct_zip_real_size.py measures a real 512 x 512 series."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest

from bot.imaging.types import Layout
from bot.pipeline.file_loader import FileLoader
from bot.pipeline.messages import Message
from bot.settings import Settings
from tests.imaging.helpers import ct_slices
from tests.pipeline.test_file_loader import BytesFile

CT_ZIP_BYTES = 160 * 10**6  # 300 slices of 512 x 512 x 2 bytes, with their headers


@pytest.fixture
def shipped() -> Iterator[FileLoader]:
    files = FileLoader(settings=Settings())
    yield files
    files.close()


def series_zip(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, data in enumerate(ct_slices(count)):
            archive.writestr(f"series/{n:04d}.dcm", data)
    return buffer.getvalue()


async def test_a_300_slice_zip_declared_at_its_real_size_is_read_and_sampled(
    shipped: FileLoader,
) -> None:
    file = BytesFile("ct", series_zip(300), declared=CT_ZIP_BYTES)
    decoded = await shipped.decode_thread([Message("user", "what is this?", files=(file,))])
    [series] = decoded.messages[0].files
    assert series.layout is Layout.VOLUME and series.total_slices == 300
    assert len(series.images) == Settings().max_slices == 85
    assert series.images[-1].label == "SLICE 85"
