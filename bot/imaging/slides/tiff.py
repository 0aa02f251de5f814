"""The pages of a slide TIFF, read one tile at a time so only the regions needed are decoded.

tifffile parses the structure (levels, tiles, resolution); the tiles themselves are decoded
here, each within a size check: uncompressed, Deflate (bounded inflate) and JPEG (Pillow),
the codecs of most slides. Other codecs answer None, and the caller falls back to decoding
one whole pyramid level with Pillow.
"""

from __future__ import annotations

import io
import math
import re
import zlib
from dataclasses import dataclass

import numpy as np
import tifffile
from PIL import JpegImagePlugin

from bot.errors import CorruptImage, ImageTooLarge
from bot.imaging.dicom.windows import ByteArray

_MAX_PAGES = 64  # as pyramid.py: a slide has a few levels plus label and macro images
_ASPECT_TOLERANCE = 0.02
_NONE, _JPEG, _DEFLATE, _ADOBE_DEFLATE = 1, 7, 8, 32946
_BLACK_IS_ZERO, _RGB, _YCBCR = 1, 2, 6
# Resolutions outside this range (um per pixel) are not a microscope's: 72 dpi is 353.
_PLAUSIBLE_MICRONS = (0.05, 20.0)
_APERIO_MPP = re.compile(r"\bMPP\s*=\s*([0-9]*\.?[0-9]+)")
_OME_SIZE = re.compile(r'PhysicalSizeX="([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"')


@dataclass(frozen=True)
class Level:
    """One decodable pyramid level: its size, segment grid and where each segment lives."""

    width: int
    height: int
    tiled: bool
    segment: tuple[int, int]  # tile (or strip) width and height
    compression: int
    photometric: int
    samples: int
    predictor: int
    jpegtables: bytes | None
    offsets: tuple[int, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Slide:
    """Decodable levels, largest first, and level 0's resolution when the file states it."""

    levels: tuple[Level, ...]
    microns: float | None


def open_slide(data: bytes) -> Slide | None:
    """A tiled or pyramidal TIFF whose level 0 decodes tile by tile here, else None."""
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tiff:
            pages = [_page(tiff, i) for i in range(min(len(tiff.pages), _MAX_PAGES))]
            first = pages[0]
            base = _level(first)
            others = [_level(page) for page in pages[1:] if _same_aspect(page, first)]
            microns = _microns(first)
    except Exception:
        return None  # tifffile's view of hostile bytes; Pillow's path gives the error
    if base is None:
        return None
    levels = sorted([base, *(lv for lv in others if lv is not None)], key=lambda lv: -lv.width)
    if not base.tiled and len(levels) == 1:
        return None  # one plain page: a photo or a scan, not a slide scanner's file
    return Slide(levels=tuple(levels), microns=microns)


def _page(tiff: tifffile.TiffFile, index: int) -> tifffile.TiffPage:
    """Page `index` as a full page (tifffile may hand out lighter frames)."""
    page = tiff.pages[index]
    return page if isinstance(page, tifffile.TiffPage) else page.aspage()


def _same_aspect(page: tifffile.TiffPage, first: tifffile.TiffPage) -> bool:
    """A page smaller than level 0 with its aspect ratio: a pyramid level."""
    ratio = first.imagewidth / max(1, first.imagelength)
    smaller = page.imagewidth * page.imagelength < first.imagewidth * first.imagelength
    aspect = page.imagewidth / max(1, page.imagelength)
    return smaller and abs(aspect - ratio) <= _ASPECT_TOLERANCE * ratio


def _level(page: tifffile.TiffPage) -> Level | None:
    """A page described for tile-by-tile decoding; None when its encoding is not handled."""
    width, height = int(page.imagewidth), int(page.imagelength)
    tiled = bool(page.is_tiled)
    segment = (
        (int(page.tilewidth), int(page.tilelength))
        if tiled
        else (width, max(1, min(height, int(page.rowsperstrip or height))))
    )
    grid = math.ceil(width / max(1, segment[0])) * math.ceil(height / max(1, segment[1]))
    samples, photometric = int(page.samplesperpixel), int(page.photometric)
    compression = int(page.compression)
    colours = (samples == 1 and photometric == _BLACK_IS_ZERO) or (
        samples == 3 and (photometric == _RGB or (photometric == _YCBCR and compression == _JPEG))
    )
    handled = (
        compression in (_NONE, _JPEG, _DEFLATE, _ADOBE_DEFLATE)
        and colours
        and int(page.bitspersample) == 8
        and (samples == 1 or int(page.planarconfig) == 1)
        and int(page.predictor) in (1, 2)
        and len(page.dataoffsets) == grid == len(page.databytecounts)
        and min(width, height, *segment) >= 1
    )
    if not handled:
        return None
    return Level(
        width=width,
        height=height,
        tiled=tiled,
        segment=segment,
        compression=compression,
        photometric=photometric,
        samples=samples,
        predictor=int(page.predictor),
        jpegtables=page.jpegtables if isinstance(page.jpegtables, bytes) else None,
        offsets=tuple(int(v) for v in page.dataoffsets),
        counts=tuple(int(v) for v in page.databytecounts),
    )


def _microns(page: tifffile.TiffPage) -> float | None:
    """Level 0's micrometres per pixel: Aperio's MPP, OME's PhysicalSizeX, else the tags."""
    description = str(page.description or "")
    for pattern in (_APERIO_MPP, _OME_SIZE):
        match = pattern.search(description[:100_000])
        if match:
            return _plausible(float(match.group(1)))
    tag, unit = page.tags.get("XResolution"), page.tags.get("ResolutionUnit")
    if tag is None or unit is None or int(unit.value) not in (2, 3):
        return None
    numerator, denominator = tag.value
    per_unit = numerator / denominator if denominator else 0.0
    micrometres = 25_400.0 if int(unit.value) == 2 else 10_000.0  # inch or centimetre
    return _plausible(micrometres / per_unit) if per_unit > 0 else None


def _plausible(microns: float) -> float | None:
    """The value when it could be a slide scanner's resolution."""
    low, high = _PLAUSIBLE_MICRONS
    return microns if math.isfinite(microns) and low <= microns <= high else None


def read_region(
    data: bytes, level: Level, box: tuple[int, int, int, int], *, cap: int
) -> ByteArray:
    """RGB pixels of `box` (left, top, right, bottom) of a level, decoding only its segments."""
    left, top, right, bottom = box
    if (right - left) * (bottom - top) > cap or level.segment[0] * level.segment[1] > cap:
        raise ImageTooLarge(detail="slide region exceeds the pixel cap")
    out = np.full((bottom - top, right - left, 3), 255, dtype=np.uint8)
    seg_w, seg_h = level.segment
    across = math.ceil(level.width / seg_w)
    for row in _span(top, bottom, step=seg_h, limit=level.height):
        for column in _span(left, right, step=seg_w, limit=level.width):
            tile = _segment(data, level, index=row * across + column)
            x, y = column * seg_w, row * seg_h
            src = tile[max(0, top - y) : bottom - y, max(0, left - x) : right - x]
            dy, dx = max(0, y - top), max(0, x - left)
            out[dy : dy + src.shape[0], dx : dx + src.shape[1]] = src
    return out


def _span(start: int, stop: int, *, step: int, limit: int) -> range:
    """Indices of the segments of size `step` that overlap [start, stop) within `limit`."""
    return range(max(0, start // step), min(math.ceil(limit / step), math.ceil(stop / step)))


def _segment(data: bytes, level: Level, *, index: int) -> ByteArray:
    """One tile or strip as RGB, refused when its bytes or its size are not as declared."""
    start, count = level.offsets[index], level.counts[index]
    if start < 0 or count <= 0 or start + count > len(data):
        raise CorruptImage(detail="slide tile outside the file")
    raw = data[start : start + count]
    seg_w, seg_h = level.segment
    if level.compression == _JPEG:
        pixels = _jpeg(raw, level)
    else:
        expected = seg_w * seg_h * level.samples
        if level.compression != _NONE:
            raw = zlib.decompressobj().decompress(raw, expected)  # never inflates past it
        flat = np.frombuffer(raw[:expected], dtype=np.uint8)
        rows = len(flat) // (seg_w * level.samples)
        pixels = flat[: rows * seg_w * level.samples].reshape(rows, seg_w, level.samples)
        if level.predictor == 2:
            pixels = np.cumsum(pixels, axis=1, dtype=np.uint8)  # horizontal differencing
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


def _jpeg(raw: bytes, level: Level) -> ByteArray:
    """A JPEG tile, with the page's shared tables; RGB-coded tiles are not colour-converted."""
    if level.jpegtables and raw.startswith(b"\xff\xd8"):
        raw = level.jpegtables[:-2] + raw[2:]
    with JpegImagePlugin.JpegImageFile(io.BytesIO(raw)) as image:
        if image.width != level.segment[0] or image.height > level.segment[1]:
            raise CorruptImage(detail="slide tile size differs from its page")
        if level.photometric == _RGB and image.mode == "RGB":
            # Without an Adobe marker libjpeg assumes YCbCr; the TIFF says the data is RGB.
            image.tile = [tile._replace(args=("RGB", "RGB")) for tile in image.tile]
        image.load()
        target = "L" if level.samples == 1 else "RGB"
        pixels = np.asarray(image.convert(target) if image.mode != target else image)
    return pixels[..., np.newaxis] if pixels.ndim == 2 else pixels
