"""Slide images: tiled and pyramidal TIFFs, level choice, tiles and their labels."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ImageTooLarge
from bot.imaging import ImagingOptions, Specialty, decode
from bot.imaging.geometry import tile_grid
from tests.imaging.helpers import DEFAULT, encode, options, pixels

IHC = skimage.data.immunohistochemistry()  # 512 x 512 RGB, a stained tissue section
LEVEL_COLOURS = {0: (255, 0, 0), 1: (0, 255, 0), 2: (0, 0, 255)}


def _solid(height: int, width: int, colour: tuple[int, int, int]) -> np.ndarray:
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[...] = colour
    return image


def _pyramid_tiff() -> bytes:
    """Levels 2000x1600 (red), 1000x800 (green), 500x400 (blue), then a square label."""
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tiff:
        for level, colour in LEVEL_COLOURS.items():
            width, height = 2000 >> level, 1600 >> level
            tiff.write(_solid(height, width, colour), tile=(128, 128), photometric="rgb")
        tiff.write(_solid(300, 300, (255, 255, 0)), photometric="rgb")
    return buffer.getvalue()


def _colour_of(decoded_pixels: np.ndarray) -> tuple[int, int, int]:
    centre = decoded_pixels[decoded_pixels.shape[0] // 2, decoded_pixels.shape[1] // 2]
    return (int(centre[0]), int(centre[1]), int(centre[2]))


def test_tiled_tiff_is_a_slide() -> None:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.tile(IHC, (2, 2, 1)), tile=(256, 256), photometric="rgb")
    decoded = decode(buffer.getvalue(), options=DEFAULT)
    assert decoded.kind == "pathology"
    assert decoded.specialty is Specialty.PATHOLOGIST
    assert decoded.images[0].image.size == (896, 896)


def test_plain_small_tiff_is_a_photo() -> None:
    decoded = decode(encode(IHC, "TIFF"), options=DEFAULT)
    assert decoded.kind == "photo" and decoded.specialty is None


@pytest.mark.parametrize(
    ("chosen", "level"),
    [
        # The smallest level that still fills model_side: 1000 x 800.
        (options(), 1),
        (options(model_side=400), 2),
        (options(model_side=1500), 0),
        # Level 0 (3.2 Mpx) is over the cap: the largest level under it.
        (options(model_side=1500, max_pixels=1_000_000), 1),
        (options(model_side=1500, max_pixels=300_000), 2),
    ],
)
def test_pyramid_level_choice(chosen: ImagingOptions, level: int) -> None:
    decoded = decode(_pyramid_tiff(), options=chosen)
    assert decoded.kind == "pathology"
    assert _colour_of(pixels(decoded)) == LEVEL_COLOURS[level]


def test_pyramid_with_every_level_over_the_cap() -> None:
    with pytest.raises(ImageTooLarge):
        decode(_pyramid_tiff(), options=options(max_pixels=100_000))


def _quadrants(side: int) -> np.ndarray:
    half = side // 2
    image = _solid(side, side, (255, 0, 0))
    image[:half, half:] = (0, 255, 0)
    image[half:, :half] = (0, 0, 255)
    image[half:, half:] = (255, 255, 0)
    return image


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "JPEG"])
def test_large_image_split_into_labelled_tiles(fmt: str) -> None:
    data = encode(_quadrants(2000), fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    decoded = decode(data, options=options(pathology_tiles=4))
    labels = [image.label for image in decoded.images]
    assert labels == [
        "TILE 1 of 4 (top left)",
        "TILE 2 of 4 (top right)",
        "TILE 3 of 4 (bottom left)",
        "TILE 4 of 4 (bottom right)",
    ]
    colours = [_colour_of(np.asarray(image.image)) for image in decoded.images]
    expected = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    for colour, wanted in zip(colours, expected, strict=True):
        assert np.abs(np.array(colour) - wanted).max() <= 6
    assert all(image.image.size == (896, 896) for image in decoded.images)


def test_nine_tiles_have_a_centre() -> None:
    decoded = decode(
        encode(_solid(2700, 2700, (9, 9, 9)), "PNG"), options=options(pathology_tiles=9)
    )
    assert len(decoded.images) == 9
    assert decoded.images[4].label == "TILE 5 of 9 (centre)"
    assert decoded.images[5].label == "TILE 6 of 9 (middle right)"


def test_image_not_much_larger_than_model_side_is_not_tiled() -> None:
    decoded = decode(encode(_quadrants(1200), "PNG"), options=options(pathology_tiles=4))
    assert len(decoded.images) == 1 and decoded.images[0].label is None


def test_tiling_off_by_default() -> None:
    assert len(decode(encode(_quadrants(2000), "PNG"), options=DEFAULT).images) == 1


@settings(max_examples=200, deadline=None)
@given(
    width=st.integers(1, 40_000),
    height=st.integers(1, 40_000),
    max_tiles=st.integers(1, 30),
    min_side=st.integers(16, 2000),
)
def test_tile_grid_bounds(width: int, height: int, max_tiles: int, min_side: int) -> None:
    columns, rows = tile_grid(width, height, max_tiles=max_tiles, min_side=min_side)
    assert 1 <= columns * rows <= max_tiles
    if (columns, rows) != (1, 1):
        tile_w, tile_h = width / columns, height / rows
        assert min(tile_w, tile_h) >= min_side
        assert 0.5 <= tile_w / tile_h <= 2.0
