"""Hostile bytes: every failure is an ImagingError, never another exception, never a hang."""

from __future__ import annotations

import io
import signal
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from types import FrameType

import numpy as np
import pillow_heif
import skimage.data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.errors import ImagingError
from bot.imaging import DecodedFile, decode
from tests.imaging.helpers import ct_slices, encode, mr_slices, options, sample
from tests.imaging.slides import synthetic as slides

# Small outputs keep each example fast; the code paths are the same.
OPTIONS = options(model_side=64, max_slices=4, pathology_tiles=4)
HANG_SECONDS = 10
FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
)


class Hang(BaseException):
    """Raised by the watchdog; a BaseException so no `except Exception` can swallow it."""


@contextmanager
def watchdog(seconds: int) -> Iterator[None]:
    """Interrupt the block if it runs longer than `seconds`."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _decode_or_imaging_error(data: bytes) -> None:
    with watchdog(HANG_SECONDS):
        try:
            result = decode(data, options=OPTIONS)
        except ImagingError:
            return
    assert isinstance(result, DecodedFile)
    assert result.images
    for image in result.images:
        assert image.image.mode == "RGB" and max(image.image.size) <= OPTIONS.model_side


@cache
def _seeds() -> dict[str, bytes]:
    """Small valid files of every family, to be damaged."""
    photo = np.asarray(Image.fromarray(skimage.data.immunohistochemistry()).resize((48, 40)))
    heic = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(photo)).save(heic, format="HEIF")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for index, data in enumerate(ct_slices(3)):
            zipped.writestr(f"s/{index}.dcm", data)
    return {
        "png": encode(photo, "PNG"),
        "jpeg": encode(photo, "JPEG"),
        "gif": encode(photo, "GIF"),
        "webp": encode(photo, "WEBP"),
        "bmp": encode(photo, "BMP"),
        "tiff": encode(photo, "TIFF", compression="tiff_deflate"),
        "heic": heic.getvalue(),
        "ct": sample("CT_small.dcm"),
        "mr_j2k": sample("MR_small_jp2klossless.dcm"),
        "mr_rle": sample("MR_small_RLE.dcm"),
        "multiframe": sample("emri_small_RLE.dcm"),
        "palette": sample("OT-PAL-8-face.dcm")[:60_000],  # header and LUTs, pixels cut short
        "zip": archive.getvalue(),
        "mr_zip": _zip(mr_slices(3)),
        "enhanced_ct": sample("eCT_Supplemental.dcm"),  # functional groups
        "cine": sample("examples_ybr_color.dcm"),
        "dose": sample("rtdose.dcm"),
        "slide": slides.small(),
        "slide_jpeg": slides.small(compression="jpeg"),
    }


def _zip(files: list[bytes]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for index, data in enumerate(files):
            zipped.writestr(f"s/{index}.dcm", data)
    return archive.getvalue()


SEED_NAMES = [
    "png",
    "jpeg",
    "gif",
    "webp",
    "bmp",
    "tiff",
    "heic",
    "ct",
    "mr_j2k",
    "mr_rle",
    "multiframe",
    "palette",
    "zip",
    "mr_zip",
    "enhanced_ct",
    "cine",
    "dose",
    "slide",
    "slide_jpeg",
]


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _decode_or_imaging_error(data)


MAGIC = [
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"\x00\x00\x00\x18ftypheic",
    b"PK\x03\x04",
    b"\x00" * 128 + b"DICM",
    b"\x08\x00\x05\x00CS",
    b"\x08\x00\x00\x00\x04\x00\x00\x00",
]


@FUZZ
@given(prefix=st.sampled_from(MAGIC), rest=st.binary(max_size=2048))
def test_random_bytes_behind_magic(prefix: bytes, rest: bytes) -> None:
    _decode_or_imaging_error(prefix + rest)


@settings(FUZZ, max_examples=400)
@given(
    name=st.sampled_from(SEED_NAMES),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    keep=st.one_of(st.none(), st.floats(0, 1)),
)
def test_damaged_real_files(name: str, flips: list[tuple[float, int]], keep: float | None) -> None:
    data = bytearray(_seeds()[name])
    for where, value in flips:
        data[int(where * len(data))] = value
    if keep is not None:
        data = data[: int(keep * len(data))]
    _decode_or_imaging_error(bytes(data))


def test_seeds_are_valid() -> None:
    """The undamaged seeds decode (the palette seed is cut short on purpose)."""
    assert sorted(SEED_NAMES) == sorted(_seeds())
    for name, data in _seeds().items():
        if name == "palette":
            continue
        assert decode(data, options=OPTIONS).images, name
