"""The contact sheet: grid size, order, labels, the pixels as sent, bounded and metadata-free."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from bot.imaging.contact_sheet import (
    BACKGROUND,
    GAP,
    LABEL_HEIGHT,
    MAX_WIDTH,
    contact_sheet,
    grid_for,
)
from bot.imaging.types import ModelImage


def gradient(index: int, size: tuple[int, int] = (96, 96)) -> Image.Image:
    """An RGB image unlike every other index: a diagonal ramp tinted by the index."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    ramp = ((xs + ys) * 255 // max(1, width + height - 2)).astype(np.uint8)
    pixels = np.stack([ramp, np.full_like(ramp, (index * 37) % 256), 255 - ramp], axis=-1)
    return Image.fromarray(pixels)  # uint8 H x W x 3: RGB


def noise(index: int, size: tuple[int, int], low: int = 0, high: int = 256) -> Image.Image:
    """Random pixels: every way of shrinking or stretching them shows."""
    pixels = np.random.default_rng(index).integers(low, high, (size[1], size[0], 3), np.uint8)
    return Image.fromarray(pixels)  # uint8 H x W x 3: RGB


def slices(count: int, size: tuple[int, int] = (96, 96)) -> list[ModelImage]:
    return [ModelImage(gradient(i, size), label=f"SLICE {i + 1}") for i in range(count)]


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGB"
    return image.copy()


def chunk_types(png: bytes) -> list[bytes]:
    """The PNG's chunk types in order (IHDR, IDAT..., IEND)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, kinds = 8, []
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kinds.append(png[at + 4 : at + 8])
        at += 12 + length
    return kinds


@pytest.mark.parametrize(
    ("count", "columns", "rows", "tile"),
    [
        (1, 1, 1, 512),  # one DICOM file: shown large, but never above MAX_TILE
        (4, 2, 2, 512),
        (5, 3, 2, 512),
        (85, 10, 9, 196),  # a full CT series (MEDGEMMA_MAX_SLICES)
        (125, 12, 11, 162),  # all of a slide's patches (MEDGEMMA_PATHOLOGY_PATCHES)
    ],
)
def test_the_grid_is_near_square_and_within_the_width(
    count: int, columns: int, rows: int, tile: int
) -> None:
    grid = grid_for(count, largest_side=896)
    assert (grid.columns, grid.rows, grid.tile) == (columns, rows, tile)
    width, height = grid.size
    assert width <= MAX_WIDTH and height <= width + rows * LABEL_HEIGHT
    assert grid.columns * grid.rows >= count > (grid.rows - 1) * grid.columns


def test_tiles_are_never_larger_than_the_images() -> None:
    assert grid_for(5, largest_side=128).tile == 128  # CT_small: no enlargement


def test_no_images_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        grid_for(0, largest_side=896)


def test_each_tile_holds_its_image_shrunk_in_the_order_sent() -> None:
    images = [ModelImage(noise(i, (896, 896)), label=f"SLICE {i + 1}") for i in range(5)]
    sheet = decoded(contact_sheet(images))
    grid = grid_for(5, largest_side=896)
    assert sheet.size == grid.size == (1568, 1084)
    for index, seen in enumerate(images):
        left, top = grid.origin(index)
        tile = sheet.crop((left, top, left + grid.tile, top + grid.tile))
        expected = seen.image.resize((grid.tile, grid.tile), Image.Resampling.LANCZOS)
        assert np.array_equal(np.asarray(tile), np.asarray(expected)), index


def test_the_pixels_are_the_ones_sent_not_windowed_again() -> None:
    # A dim image (as a bone window renders soft tissue) stays dim: no stretch, no window.
    dim = noise(0, (64, 64), low=10, high=40)
    sheet = decoded(contact_sheet([ModelImage(dim, label="SLICE 1")]))
    tile = sheet.crop((GAP, GAP, GAP + 64, GAP + 64))
    assert np.array_equal(np.asarray(tile), np.asarray(dim))


def test_a_smaller_or_oblong_image_is_centred_on_the_background() -> None:
    wide = ModelImage(gradient(0, size=(200, 100)), label="IMAGE 1")
    square = ModelImage(gradient(1, size=(200, 200)), label="IMAGE 2")
    sheet = decoded(contact_sheet([wide, square]))
    grid = grid_for(2, largest_side=200)
    left, top = grid.origin(0)
    assert sheet.getpixel((left + 100, top + 10)) == BACKGROUND  # above the wide image
    inside = sheet.crop((left, top + 50, left + 200, top + 150))
    assert np.array_equal(np.asarray(inside), np.asarray(wide.image))


def label_strip(sheet: Image.Image, index: int, count: int) -> np.ndarray:
    grid = grid_for(count, largest_side=96)
    left, top = grid.origin(index)
    below = top + grid.tile
    return np.asarray(sheet.crop((left, below, left + grid.tile, below + LABEL_HEIGHT)))


def test_labels_are_drawn_under_their_tiles() -> None:
    images = slices(4)
    sheet = decoded(contact_sheet(images))
    strips = [label_strip(sheet, i, 4) for i in range(4)]
    for strip in strips:
        assert (strip != BACKGROUND).any()  # ink under every tile
    # Each label says something else ("SLICE 1" ... "SLICE 4"): no two strips are alike.
    assert len({strip.tobytes() for strip in strips}) == 4
    unlabelled = decoded(contact_sheet([ModelImage(m.image) for m in images]))
    assert not np.array_equal(label_strip(unlabelled, 0, 4), strips[0])


def test_changing_a_label_changes_only_its_strip() -> None:
    images = slices(3)
    renamed = [*images[:2], ModelImage(images[2].image, label="SLICE 99")]
    before = np.asarray(decoded(contact_sheet(images)))
    after = np.asarray(decoded(contact_sheet(renamed)))
    changed = np.argwhere((before != after).any(axis=-1))
    grid = grid_for(3, largest_side=96)
    left, top = grid.origin(2)
    strip_top, strip_bottom = top + grid.tile, top + grid.tile + LABEL_HEIGHT
    assert len(changed)
    assert all(strip_top <= y < strip_bottom and left <= x < left + grid.tile for y, x in changed)


def test_unlabelled_images_are_numbered_in_the_order_sent() -> None:
    patches = [ModelImage(gradient(i)) for i in range(3)]
    numbered = [ModelImage(m.image, label=f"#{i + 1}") for i, m in enumerate(patches)]
    assert contact_sheet(patches) == contact_sheet(numbered)


def test_a_long_label_is_cut_to_its_tile() -> None:
    tiny = [
        ModelImage(gradient(i, size=(24, 24)), label="TILE 2 of 4 (top right)") for i in range(2)
    ]
    sheet = decoded(contact_sheet(tiny))
    grid = grid_for(2, largest_side=24)
    _, top = grid.origin(0)
    beyond = np.asarray(sheet.crop((GAP + 24, top + 24, GAP + 24 + GAP, top + 24 + LABEL_HEIGHT)))
    assert (beyond == BACKGROUND).all()  # no ink in the gap between the first two tiles


def test_125_patches_fit_within_about_2048_pixels() -> None:
    patches = [ModelImage(gradient(i, size=(896, 896))) for i in range(125)]
    width, height = decoded(contact_sheet(patches)).size
    assert width <= MAX_WIDTH and height <= MAX_WIDTH + 64


def test_the_png_is_deterministic_and_carries_no_metadata() -> None:
    images = slices(6)
    png = contact_sheet(images)
    assert png == contact_sheet(slices(6))
    kinds = chunk_types(png)
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert set(kinds) == {b"IHDR", b"IDAT", b"IEND"}  # no tEXt, tIME, eXIf, pHYs
    assert not decoded(png).info


def test_grey_or_alpha_images_become_rgb_without_other_change() -> None:
    grey = Image.new("L", (32, 32), 77)
    sheet = decoded(contact_sheet([ModelImage(grey, label="SLICE 1")]))
    assert sheet.getpixel((GAP + 5, GAP + 5)) == (77, 77, 77)
