"""Whole-slide TIFFs -> random tissue patches at about 10x (Google's MedGemma 1.5 WSI recipe)."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import numpy as np
import pytest
import tifffile

from bot.errors import ImageTooLarge
from bot.imaging import DecodedFile, Layout, Specialty, decode
from tests.imaging import google_recipe as google
from tests.imaging.helpers import DEFAULT
from tests.imaging.slides import synthetic as slides

OPTIONS = slides.OPTIONS


def _patches(**build: Any) -> tuple[slides.Slide, DecodedFile]:
    slide = slides.build(**build)
    return slide, decode(slide.data, options=OPTIONS)


def test_recipe_constants_are_the_defaults() -> None:
    assert DEFAULT.pathology_patches == google.WSI_MAX_PATCHES
    assert DEFAULT.model_side == google.WSI_PATCH_SIDE


@pytest.mark.parametrize(
    ("build", "worst", "average"),
    [
        ({"microns": 0.5}, 0, 0.0),  # 20x: level 0, every patch region shrunk by 2
        ({"microns": 1.0}, 0, 0.0),  # 10x: level 0 as is
        ({"microns": 0.25}, 0, 0.0),  # 40x: level 1 is exactly 10x
        ({"microns": 0.5, "mpp": "aperio"}, 0, 0.0),  # resolution in Aperio's description
        ({"microns": 0.5, "compression": "none"}, 0, 0.0),
        ({"microns": 0.5, "compression": "jpeg"}, 4, 1.0),  # lossy tiles, YCbCr
        ({"microns": 0.5, "compression": "jpeg_rgb"}, 4, 1.0),  # RGB-coded, no Adobe marker
    ],
)
def test_each_patch_is_a_tissue_cell_at_10x(
    build: dict[str, Any], worst: int, average: float
) -> None:
    slide, decoded = _patches(**build)
    assert decoded.layout is Layout.PATCHES and decoded.kind == "pathology"
    assert decoded.specialty is Specialty.PATHOLOGIST and decoded.is_image_set
    assert decoded.microns_per_pixel == google.WSI_MICRONS_PER_PIXEL
    assert all(image.label is None for image in decoded.images)
    found = slides.matches(decoded, slide)
    # Every tissue cell once (fewer cells than the patch limit): non-overlapping, no glass.
    assert sorted(key for key, _, _ in found) == sorted(slides.TISSUE_CELLS)
    assert decoded.total_slices == len(slides.TISSUE_CELLS)
    assert max(m for _, m, _ in found) <= worst
    assert max(a for _, _, a in found) <= average


def test_deflate_levels_use_the_horizontal_predictor() -> None:
    slide = slides.build(microns=0.5)
    with tifffile.TiffFile(io.BytesIO(slide.data)) as tiff:
        assert tiff.pages[0].predictor == 2  # so the test above covers undoing it


def test_without_a_resolution_level_0_is_taken_for_40x() -> None:
    slide, decoded = _patches(microns=0.25, mpp="none")
    assert decoded.layout is Layout.PATCHES
    assert decoded.microns_per_pixel is None
    assert len(slides.matches(decoded, slide)) == len(slides.TISSUE_CELLS)


def test_seeded_sample_is_the_same_for_the_same_file() -> None:
    few = dataclasses.replace(OPTIONS, pathology_patches=3)
    slide = slides.build(microns=0.5)
    first = decode(slide.data, options=few)
    again = decode(slide.data, options=few)
    assert len(first.images) == 3 and first.total_slices == 6
    keys = [key for key, _, _ in slides.matches(first, slide)]
    assert keys == [key for key, _, _ in slides.matches(again, slide)]
    assert len(set(keys)) == 3 and set(keys) <= set(slides.TISSUE_CELLS)
    for ours, theirs in zip(first.images, again.images, strict=True):
        assert np.array_equal(np.asarray(ours.image), np.asarray(theirs.image))


def test_patches_off_gives_one_overview() -> None:
    slide = slides.build(microns=0.5)
    decoded = decode(slide.data, options=dataclasses.replace(OPTIONS, pathology_patches=0))
    assert decoded.layout is Layout.SINGLE and len(decoded.images) == 1


def test_level_0_over_the_pixel_cap_is_read_tile_by_tile() -> None:
    # Level 0 (1024 x 768) is over this cap; the patches are read from its tiles anyway.
    slide = slides.build(microns=0.5)
    decoded = decode(slide.data, options=dataclasses.replace(OPTIONS, max_pixels=500_000))
    assert decoded.layout is Layout.PATCHES
    assert len(slides.matches(decoded, slide)) == len(slides.TISSUE_CELLS)


def test_a_patch_region_over_the_cap_is_refused() -> None:
    slide = slides.build(microns=0.5)
    with pytest.raises(ImageTooLarge):
        decode(slide.data, options=dataclasses.replace(OPTIONS, max_pixels=200 * 200))


def test_glass_only_slide_gives_the_overview() -> None:
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tiff:
        for side in (1024, 256, 64):
            glass = np.full((side * 3 // 4, side, 3), slides.GLASS, dtype=np.uint8)
            per_cm = 2e4 * side / 1024  # level 0 at 0.5 um/px
            tiff.write(
                glass,
                tile=(64, 64),
                photometric="rgb",
                resolution=(per_cm, per_cm),
                resolutionunit="CENTIMETER",
            )
    decoded = decode(buffer.getvalue(), options=OPTIONS)
    assert decoded.layout is Layout.SINGLE and decoded.kind == "pathology"


def test_slide_smaller_than_two_patches_at_10x_gives_the_overview() -> None:
    slide = slides.build(microns=1.0)  # 512 px at 1 um/px: 4 cells along, large enough
    assert decode(slide.data, options=OPTIONS).layout is Layout.PATCHES
    small = dataclasses.replace(OPTIONS, model_side=300)  # now under two 300 px patches
    assert decode(slide.data, options=small).layout is not Layout.PATCHES
