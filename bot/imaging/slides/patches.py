"""A whole-slide image -> random tissue patches at about 10x, as Google's MedGemma 1.5 WSI recipe.

The recipe: up to 125 random, non-overlapping 896 x 896 patches of tissue at about 10x
(about 1 micrometre per pixel), instruction first, no per-patch labels. Here tissue is found
on a low-resolution level, the slide is cut into a grid of patch-sized cells at 10x, cells
that are mostly tissue are sampled with a seed taken from the file's bytes (the same file
gives the same patches), and only the tiles under the chosen cells are decoded. As many
patches are taken as the file's pixel budget pays for (fewer, never refused, when a
slide's only level is fine-grained).

The slide comes from a `SlideSource`: its levels and a reader of regions. A tiled TIFF
is one (here); a DICOM whole-slide image is another (bot/imaging/dicom/wsi.py).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from bot.imaging import geometry
from bot.imaging.budget import Allowance
from bot.imaging.dicom.windows import ByteArray
from bot.imaging.slides import tiff as slide_tiff
from bot.imaging.types import (
    DecodedFile,
    ImagingOptions,
    Intensity,
    Layout,
    ModelImage,
    Specialty,
)

TARGET_MICRONS = 1.0  # about 10x
# Without a stated resolution, level 0 is taken for a 40x scan, the most common setting.
ASSUMED_MICRONS = 0.25
_MASK_PIXELS = 16_000_000  # largest level decoded whole to find tissue
_MASK_CELL_PIXELS = 8  # a cell should span at least this many mask pixels
_TISSUE_FRACTION = 0.5  # a cell is a candidate when at least this much of it is tissue
_MIN_CELLS_ALONG = 2  # a slide smaller than two patches at 10x is shown whole instead


class Level(Protocol):
    """A pyramid level as the sampling sees it: its size."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...


L = TypeVar("L", bound=Level)
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class SlideSource(Generic[L]):
    """A slide to sample: levels (largest first), level 0's resolution, a region reader."""

    levels: tuple[L, ...]
    microns: float | None  # of level 0, when the file states it
    read: Callable[[L, Box], ByteArray]  # RGB of a region (left, top, right, bottom) of a level
    seed: int  # the same file gives the same patches
    source_format: str


@dataclass(frozen=True)
class _Plan(Generic[L]):
    """Where patches come from: the cell side in level-0 pixels, the levels to read and mask."""

    microns: float  # of the patches: 10x, or the slide's own resolution when it is coarser
    cell: float
    read: L
    read_cell: float  # the cell side in pixels of the read level
    mask: L


def seed_of(data: bytes) -> int:
    """The sampling seed of a file: its bytes' hash."""
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def slide_patches(
    data: bytes, *, options: ImagingOptions, allowance: Allowance
) -> DecodedFile | None:
    """Up to `pathology_patches` tissue patches, or None when the file is no slide for them."""
    if options.pathology_patches <= 0:
        return None
    slide = slide_tiff.open_slide(data)
    if slide is None:
        return None
    cap = geometry.pixel_cap(options)
    source = SlideSource(
        levels=slide.levels,
        microns=slide.microns,
        read=lambda level, box: slide_tiff.read_region(data, level, box, cap=cap),
        seed=seed_of(data),
        source_format="tiff",
    )
    return sample_patches(source, options=options, allowance=allowance)


def sample_patches(
    source: SlideSource[L], *, options: ImagingOptions, allowance: Allowance
) -> DecodedFile | None:
    """Tissue patches of a slide, or None when it is too small or shows no tissue."""
    plan = _plan(source, options=options)
    if plan is None:
        return None
    whole = (0, 0, plan.mask.width, plan.mask.height)
    allowance.spend(plan.mask.width * plan.mask.height)
    mask = _tissue(source.read(plan.mask, whole))
    cells = _candidates(mask, base=source.levels[0], cell=plan.cell)
    if not cells:
        return None
    patch_pixels = math.ceil(plan.read_cell) ** 2
    count = allowance.frames(min(options.pathology_patches, len(cells)), frame_pixels=patch_pixels)
    chosen = random.Random(source.seed).sample(cells, count)
    allowance.spend(len(chosen) * patch_pixels)
    images = tuple(
        ModelImage(image=_patch(source, plan, cell=cell, options=options)) for cell in chosen
    )
    return DecodedFile(
        kind="pathology",
        images=images,
        source_format=source.source_format,
        specialty=Specialty.PATHOLOGIST,
        total_slices=len(cells),
        layout=Layout.PATCHES,
        intensity=Intensity.COLOUR,
        microns_per_pixel=plan.microns if source.microns is not None else None,
    )


def _plan(slide: SlideSource[L], *, options: ImagingOptions) -> _Plan[L] | None:
    """Cell size, read level and mask level; None when the slide is too small for patches."""
    base = slide.levels[0]
    level0 = slide.microns or ASSUMED_MICRONS
    microns = max(TARGET_MICRONS, level0)  # a slide scanned below 10x: its own resolution
    cell = options.model_side * microns / level0  # in level-0 pixels
    if max(base.width, base.height) < _MIN_CELLS_ALONG * cell:
        return None
    # The coarsest level still at the patches' resolution or finer: patches shrink to the
    # model side, never enlarge (5% slack for levels rounded down from odd sides).
    wanted = cell / options.model_side * 1.05
    fine = [lv for lv in slide.levels if _downsample(base, lv) <= wanted] or [base]
    read = max(fine, key=lambda lv: _downsample(base, lv))
    mask = _mask_level(slide, cell=cell, options=options)
    if mask is None:
        return None
    read_cell = cell / _downsample(base, read)
    return _Plan(microns=microns, cell=cell, read=read, read_cell=read_cell, mask=mask)


def _mask_level(slide: SlideSource[L], *, cell: float, options: ImagingOptions) -> L | None:
    """The smallest level that shows each cell with enough pixels, within the mask budget."""
    base = slide.levels[0]
    limit = min(_MASK_PIXELS, geometry.pixel_cap(options))
    maskable = [lv for lv in slide.levels if lv.width * lv.height <= limit]
    detailed = [lv for lv in maskable if cell / _downsample(base, lv) >= _MASK_CELL_PIXELS]
    if detailed:
        return min(detailed, key=lambda lv: lv.width)
    return max(maskable, key=lambda lv: lv.width) if maskable else None


def _downsample(base: Level, level: Level) -> float:
    """How many level-0 pixels one pixel of `level` spans."""
    return base.width / level.width


def _tissue(rgb: ByteArray) -> npt.NDArray[np.bool_]:
    """Stained pixels: coloured (HSV saturation), not glass-white, not black (pen, borders)."""
    high = rgb.max(axis=2).astype(np.int16)
    low = rgb.min(axis=2).astype(np.int16)
    saturation = (high - low) / np.maximum(high, 1)
    stained: npt.NDArray[np.bool_] = (saturation > 0.07) & (high < 250) & (high > 30)
    return stained


def _candidates(mask: npt.NDArray[np.bool_], *, base: Level, cell: float) -> list[tuple[int, int]]:
    """(column, row) of the whole cells at 10x that are mostly tissue, in reading order."""
    scale_x, scale_y = mask.shape[1] / base.width, mask.shape[0] / base.height
    found = []
    for row in range(int(base.height // cell)):
        for column in range(int(base.width // cell)):
            box = mask[
                math.floor(row * cell * scale_y) : math.ceil((row + 1) * cell * scale_y),
                math.floor(column * cell * scale_x) : math.ceil((column + 1) * cell * scale_x),
            ]
            if box.size and float(box.mean()) >= _TISSUE_FRACTION:
                found.append((column, row))
    return found


def _patch(
    source: SlideSource[L], plan: _Plan[L], *, cell: tuple[int, int], options: ImagingOptions
) -> Image.Image:
    """One cell read from the chosen level and shrunk to the model side."""
    column, row = cell
    side_in_level = plan.read_cell
    box = (
        round(column * side_in_level),
        round(row * side_in_level),
        round((column + 1) * side_in_level),
        round((row + 1) * side_in_level),
    )
    region = Image.fromarray(source.read(plan.read, box))
    side = options.model_side
    if region.size != (side, side):
        region = region.resize((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return geometry.pixels_only(region)
