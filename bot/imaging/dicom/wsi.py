"""DICOM whole-slide images (VL Whole Slide Microscopy Image Storage) -> tissue patches.

One file of a DICOM slide is one pyramid level: a total pixel matrix cut into tiles,
stored as the file's frames. With TILED_FULL organisation the frames are in a fixed
order (columns fastest, then rows, then focal planes, then optical paths), so the tile
at (column, row) of the first focal plane and optical path is frame row x across +
column. The level is sampled like a TIFF slide (bot/imaging/slides/patches.py): tissue is
found on a mosaic of every tile decoded at an eighth of its size (JPEG decodes at that
scale for a fraction of the work), and only the tiles under the chosen cells are decoded
in full. JPEG baseline and uncompressed 8-bit RGB tiles, the encodings of most scanners'
exports, are read here; any other file (TILED_SPARSE, other codecs, more tiles than
`MAX_TILES`) is left to the multi-frame path, which sends sampled frames.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image, JpegImagePlugin
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames

from bot.errors import CorruptImage, ImageTooLarge
from bot.imaging import geometry
from bot.imaging.budget import Allowance
from bot.imaging.dicom.windows import ByteArray
from bot.imaging.slides.patches import Box, SlideSource, sample_patches, seed_of
from bot.imaging.types import DecodedFile, ImagingOptions

WSI_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"
_JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
_NATIVE = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"})
MASK_REDUCE = 8  # the tissue mosaic: each tile at 1/8 of its side, as JPEG's DCT scaling gives
MAX_TILES = 20_000  # tiles decoded (reduced) to find tissue: a few seconds at most


@dataclass(frozen=True)
class WsiLevel:
    """The file's pixel matrix at full size (reduce 1), or its tissue mosaic (reduce 8)."""

    width: int
    height: int
    reduce: int = 1


@dataclass(frozen=True)
class _Grid:
    width: int  # total pixel matrix
    height: int
    tile: tuple[int, int]  # columns, rows of one frame
    jpeg: bool

    @property
    def across(self) -> int:
        return math.ceil(self.width / self.tile[0])

    @property
    def down(self) -> int:
        return math.ceil(self.height / self.tile[1])


def wsi_patches(
    dataset: Dataset, data: bytes, *, options: ImagingOptions, allowance: Allowance
) -> DecodedFile | None:
    """Tissue patches of a whole-slide DICOM level; None for any other file (or no tissue)."""
    if options.pathology_patches <= 0 or str(dataset.get("SOPClassUID", "")) != WSI_SOP_CLASS:
        return None
    grid = _grid(dataset)
    if grid is None:
        return None
    tiles = _Tiles(dataset, grid, cap=geometry.pixel_cap(options))
    mosaic = WsiLevel(
        math.ceil(grid.width / MASK_REDUCE), math.ceil(grid.height / MASK_REDUCE), MASK_REDUCE
    )
    source = SlideSource(
        levels=(WsiLevel(grid.width, grid.height), mosaic),
        microns=_microns(dataset),
        read=tiles.region,
        seed=seed_of(data),
        source_format="dicom",
    )
    return sample_patches(source, options=options, allowance=allowance)


def _grid(dataset: Dataset) -> _Grid | None:
    """The tiling of a TILED_FULL file whose tiles are read here, else None."""
    syntax = str(dataset.file_meta.get("TransferSyntaxUID", ""))
    if str(dataset.get("DimensionOrganizationType", "TILED_FULL")).upper() != "TILED_FULL":
        return None
    native = syntax in _NATIVE and dataset.get("BitsAllocated") == 8
    if not (syntax == _JPEG_BASELINE or native) or dataset.get("SamplesPerPixel") != 3:
        return None
    if native and (dataset.get("PlanarConfiguration", 0) != 0 or _photometric(dataset) != "RGB"):
        return None
    try:
        grid = _Grid(
            width=int(dataset.TotalPixelMatrixColumns),
            height=int(dataset.TotalPixelMatrixRows),
            tile=(int(dataset.Columns), int(dataset.Rows)),
            jpeg=syntax == _JPEG_BASELINE,
        )
        frames = int(dataset.get("NumberOfFrames", 1))
    except (AttributeError, TypeError, ValueError):
        return None
    if min(grid.width, grid.height, *grid.tile) < 1 or grid.across * grid.down > MAX_TILES:
        return None
    if frames < grid.across * grid.down:
        raise CorruptImage(detail="whole-slide DICOM with fewer frames than tiles")
    return grid


def _photometric(dataset: Dataset) -> str:
    return str(dataset.get("PhotometricInterpretation", "")).strip().upper()


def _microns(dataset: Dataset) -> float | None:
    """Micrometres per pixel of the matrix: the shared pixel measures' spacing (mm)."""
    try:
        shared = dataset.SharedFunctionalGroupsSequence[0]
        spacing = float(shared.PixelMeasuresSequence[0].PixelSpacing[1]) * 1000
    except (AttributeError, IndexError, TypeError, ValueError, KeyError):
        return None
    return spacing if 0.05 <= spacing <= 20.0 else None  # a microscope's, as for TIFFs


class _Tiles:
    """Regions of the pixel matrix (or its mosaic), decoding only the tiles under them."""

    def __init__(self, dataset: Dataset, grid: _Grid, *, cap: int) -> None:
        self._dataset, self._grid, self._cap = dataset, grid, cap

    @cached_property
    def _frames(self) -> list[bytes]:
        """The encoded tiles of the first focal plane and optical path, in order."""
        count = self._grid.across * self._grid.down
        if not self._grid.jpeg:
            size = self._grid.tile[0] * self._grid.tile[1] * 3
            pixels = bytes(self._dataset.PixelData)
            return [pixels[i * size : (i + 1) * size] for i in range(count)]
        frames = int(self._dataset.get("NumberOfFrames", 1))
        found = generate_frames(self._dataset.PixelData, number_of_frames=frames)
        return [frame for _, frame in zip(range(count), found, strict=False)]

    def region(self, level: WsiLevel, box: Box) -> ByteArray:
        """RGB of `box` (left, top, right, bottom) in `level`'s pixels; glass-white outside."""
        left, top, right, bottom = box
        if (right - left) * (bottom - top) > self._cap:
            raise ImageTooLarge(detail="slide region exceeds the pixel cap")
        out = np.full((bottom - top, right - left, 3), 255, dtype=np.uint8)
        tile_w, tile_h = self._grid.tile
        r = level.reduce
        for row in range(top * r // tile_h, min(self._grid.down, math.ceil(bottom * r / tile_h))):
            for col in range(
                left * r // tile_w, min(self._grid.across, math.ceil(right * r / tile_w))
            ):
                x0, y0 = col * tile_w // r, row * tile_h // r
                size = ((col + 1) * tile_w // r - x0, (row + 1) * tile_h // r - y0)
                tile = self._tile(row * self._grid.across + col, size=size)
                src = tile[max(0, top - y0) : bottom - y0, max(0, left - x0) : right - x0]
                dy, dx = max(0, y0 - top), max(0, x0 - left)
                out[dy : dy + src.shape[0], dx : dx + src.shape[1]] = src
        return out

    def _tile(self, index: int, *, size: tuple[int, int]) -> ByteArray:
        """Tile `index` as RGB at `size` (its own, or reduced for the mosaic)."""
        if index >= len(self._frames):
            raise CorruptImage(detail="whole-slide DICOM tile missing")
        raw = self._frames[index]
        tile_w, tile_h = self._grid.tile
        if self._grid.jpeg:
            image = _jpeg(raw, tile=self._grid.tile, size=size)
        else:
            flat = np.frombuffer(raw, dtype=np.uint8)
            if flat.size != tile_w * tile_h * 3:
                raise CorruptImage(detail="whole-slide DICOM tile of the wrong size")
            image = Image.fromarray(flat.reshape(tile_h, tile_w, 3))
        if image.size != size:
            image = image.resize(size, Image.Resampling.BOX)
        return np.asarray(image)


def _jpeg(raw: bytes, *, tile: tuple[int, int], size: tuple[int, int]) -> Image.Image:
    """A JPEG tile decoded at the smallest DCT scale still at least `size`, as RGB."""
    with JpegImagePlugin.JpegImageFile(io.BytesIO(raw)) as image:
        if image.size != tile:
            raise CorruptImage(detail="whole-slide DICOM tile size differs from its frame")
        if size != tile:
            image.draft("RGB", size)
        image.load()
        return image.convert("RGB")
