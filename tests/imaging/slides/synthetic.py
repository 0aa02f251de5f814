"""Synthetic whole-slide TIFFs with a known truth at 1 micrometre per pixel, and a matcher.

The truth is a grid of cells, each the side of one model image; some hold smooth, stained
"tissue" (a colour of their own), the rest are glass. Level 0 is the truth enlarged to the
slide's resolution; further levels are block means. A patch taken at about 10x must then
equal one tissue cell of the truth, value by value, up to resampling.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import tifffile
from PIL import Image

from bot.imaging import DecodedFile, ImagingOptions
from tests.imaging.helpers import options

CELL = 128  # the model side used with these slides (896 in production; small keeps tests fast)
COLUMNS, ROWS = 4, 3
TISSUE_CELLS = ((0, 1), (1, 1), (1, 2), (2, 0), (3, 1), (3, 2))  # (column, row)
GLASS = 242
TILE = 64


def _options() -> ImagingOptions:
    """Small model side, no padding; patch count set where the option exists."""
    base = options(model_side=CELL, pad_to_square=False)
    names = {f.name for f in dataclasses.fields(base)}
    return (
        dataclasses.replace(base, pathology_patches=125) if "pathology_patches" in names else base
    )


OPTIONS = _options()


@dataclass(frozen=True)
class Slide:
    """A slide file and the truth it was made from."""

    data: bytes
    truth: np.ndarray  # RGB at 1 micrometre per pixel
    microns: float  # level 0 resolution


def truth() -> np.ndarray:
    """The slide at 1 micrometre per pixel: glass, and six tissue cells of distinct stain."""
    image = np.full((ROWS * CELL, COLUMNS * CELL, 3), GLASS, dtype=np.float64)
    y, x = np.mgrid[0:CELL, 0:CELL].astype(np.float64)
    texture = 25 * np.sin(2 * np.pi * x / 40) * np.cos(2 * np.pi * y / 52)
    for k, (column, row) in enumerate(TISSUE_CELLS):
        base = np.array([205 - 12 * k, 115 - 9 * k, 190 - 4 * k], dtype=np.float64)  # H&E-ish
        cell = base + texture[..., np.newaxis] * np.array([1.0, 0.6, 0.8])
        image[row * CELL : (row + 1) * CELL, column * CELL : (column + 1) * CELL] = cell
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def build(*, microns: float = 0.5, mpp: str = "resolution", compression: str = "zlib") -> Slide:
    """A pyramidal tiled TIFF; `mpp` is "resolution" (tags), "aperio" (description) or "none".

    `compression` is a tifffile codec ("zlib", "none"), "jpeg" (YCbCr tiles) or "jpeg_rgb"
    (RGB-coded tiles without the Adobe marker, as some scanners write them).
    """
    reference = truth()
    factor = round(1 / microns)
    level0 = np.repeat(np.repeat(reference, factor, axis=0), factor, axis=1)
    levels = [level0, _reduce(level0, 4), _reduce(level0, 16)]
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tiff:
        for index, level in enumerate(levels):
            _write_level(tiff, level, microns=microns * 4**index, mpp=mpp, compression=compression)
    data = buffer.getvalue()
    if compression.startswith("jpeg"):
        data = _mark_jpeg(data, pages=len(levels), ycbcr=compression == "jpeg")
    return Slide(data=data, truth=reference, microns=microns)


def _reduce(image: np.ndarray, factor: int) -> np.ndarray:
    height, width = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: height * factor, : width * factor].reshape(height, factor, width, factor, 3)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


def _write_level(
    tiff: tifffile.TiffWriter, level: np.ndarray, *, microns: float, mpp: str, compression: str
) -> None:
    height, width = level.shape[:2]
    extra: dict[str, object] = {}
    if mpp == "resolution":
        extra = {"resolution": (1e4 / microns, 1e4 / microns), "resolutionunit": "CENTIMETER"}
    elif mpp == "aperio":
        header = f"Aperio Image Library v12.0.15\r\n{width}x{height} (64x64) JPEG/RGB Q=95"
        extra = {"description": f"{header}|AppMag = 20|MPP = {microns:.4f}"}
    if compression.startswith("jpeg"):
        # tifffile cannot encode JPEG here (no imagecodecs): write Pillow's JPEG tiles as
        # pre-encoded segments, then mark the pages as JPEG (see _mark_jpeg).
        tiles = _jpeg_tiles(level, rgb=compression == "jpeg_rgb")
        shape = {"shape": level.shape, "dtype": "uint8"}
        tiff.write(tiles, **shape, tile=(TILE, TILE), photometric="rgb", **extra)  # type: ignore[arg-type]
        return
    codec = None if compression == "none" else compression
    tiff.write(
        level,
        tile=(TILE, TILE),
        photometric="rgb",
        compression=codec,
        predictor=codec == "zlib",  # horizontal differencing, as many writers add
        **extra,  # type: ignore[arg-type]
    )


def _jpeg_tiles(level: np.ndarray, *, rgb: bool) -> Iterator[bytes]:
    height, width = level.shape[:2]
    for y in range(0, height, TILE):
        for x in range(0, width, TILE):
            tile = np.full((TILE, TILE, 3), GLASS, dtype=np.uint8)
            part = level[y : y + TILE, x : x + TILE]
            tile[: part.shape[0], : part.shape[1]] = part
            buffer = io.BytesIO()
            Image.fromarray(tile).save(buffer, format="JPEG", quality=95, keep_rgb=rgb)
            yield _bare_rgb(buffer.getvalue()) if rgb else buffer.getvalue()


def _bare_rgb(jpeg: bytes) -> bytes:
    """An RGB-coded JPEG without the hints (Adobe marker, "RGB" component ids) libjpeg uses."""
    data = bytearray(jpeg)
    adobe = data.index(b"\xff\xee")
    del data[adobe : adobe + 2 + int.from_bytes(data[adobe + 2 : adobe + 4], "big")]
    frame, scan = data.index(b"\xff\xc0"), data.index(b"\xff\xda")
    for k in range(3):
        data[frame + 10 + 3 * k] = k + 1
        data[scan + 5 + 2 * k] = k + 1
    return bytes(data)


def _mark_jpeg(data: bytes, *, pages: int, ycbcr: bool) -> bytes:
    buffer = io.BytesIO(data)
    with tifffile.TiffFile(buffer, mode="r+b") as tiff:
        for page in tiff.pages[:pages]:
            page.tags["Compression"].overwrite(7)
            if ycbcr:
                page.tags["PhotometricInterpretation"].overwrite(6)
    return buffer.getvalue()


def cells(slide: Slide) -> dict[tuple[int, int], np.ndarray]:
    """The truth of each tissue cell."""
    return {
        (column, row): slide.truth[
            row * CELL : (row + 1) * CELL, column * CELL : (column + 1) * CELL
        ]
        for column, row in TISSUE_CELLS
    }


def matches(decoded: DecodedFile, slide: Slide) -> list[tuple[tuple[int, int], int, float]]:
    """For each output image: the closest tissue cell, and the max and mean difference."""
    truth_cells = cells(slide)
    found = []
    for image in decoded.images:
        ours = np.asarray(image.image).astype(int)
        if ours.shape != (CELL, CELL, 3):
            continue
        scores = {key: np.abs(ours - cell.astype(int)) for key, cell in truth_cells.items()}
        key = min(scores, key=lambda k: float(scores[k].mean()))
        found.append((key, int(scores[key].max()), float(scores[key].mean())))
    return found


def match(decoded: DecodedFile, slide: Slide) -> str:
    """A one-line summary of `matches`, for the figures."""
    found = matches(decoded, slide)
    if not found:
        sides = sorted({image.image.size for image in decoded.images})
        return f"none (output sizes {sides})"
    distinct = len({key for key, _, _ in found})
    worst = max(m for _, m, _ in found)
    mean = sum(a for _, _, a in found) / len(found)
    return f"{len(found)} patches, {distinct} distinct cells, max {worst}, mean {mean:.2f}"


def small(*, compression: str = "zlib") -> bytes:
    """A 256 x 192 two-level slide at 0.5 um/px for fuzzing (patches with a 64 px model side)."""
    tissue = np.asarray(Image.fromarray(truth()).resize((256, 192)))
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tiff:
        for index, level in enumerate((tissue, _reduce(tissue, 4))):
            _write_level(
                tiff, level, microns=0.5 * 4**index, mpp="resolution", compression=compression
            )
    data = buffer.getvalue()
    if compression.startswith("jpeg"):
        data = _mark_jpeg(data, pages=2, ycbcr=compression == "jpeg")
    return data
