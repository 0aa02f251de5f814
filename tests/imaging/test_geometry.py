"""Pad, resize and tile geometry."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.imaging.geometry import downsample, fit, pad_to_square, split_tiles, tile_position
from tests.imaging.helpers import options


def test_pad_to_square_centres_on_black() -> None:
    padded = np.asarray(pad_to_square(Image.new("RGB", (10, 4), (200, 200, 200))))
    assert padded.shape == (10, 10, 3)
    assert (padded[:3] == 0).all() and (padded[7:] == 0).all()
    assert (padded[3:7] == 200).all()


def test_pad_to_square_tall_image() -> None:
    padded = np.asarray(pad_to_square(Image.new("RGB", (3, 9), (50, 60, 70))))
    assert padded.shape == (9, 9, 3)
    assert (padded[:, :3] == 0).all() and (padded[:, 6:] == 0).all()
    assert (padded[:, 3:6] == (50, 60, 70)).all()


def test_downsample_uses_the_long_side() -> None:
    assert downsample(Image.new("RGB", (2000, 1000)), side=500).size == (500, 250)
    assert downsample(Image.new("RGB", (300, 900)), side=450).size == (150, 450)


def test_downsample_never_enlarges() -> None:
    image = Image.new("RGB", (30, 20))
    assert downsample(image, side=896).size == (30, 20)


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(1, 400),
    height=st.integers(1, 400),
    side=st.integers(8, 300),
    pad=st.booleans(),
)
def test_fit_bounds(width: int, height: int, side: int, pad: bool) -> None:
    image = Image.new("RGB", (width, height), (1, 2, 3))
    out = fit(image, options=options(model_side=side, pad_to_square=pad))
    assert out.mode == "RGB"
    assert max(out.size) == min(side, max(width, height))
    if pad:
        assert out.width == out.height
    else:
        scale = min(1.0, side / max(width, height))
        assert abs(out.width - width * scale) <= 1 and abs(out.height - height * scale) <= 1


def test_fit_strips_metadata() -> None:
    image = Image.new("RGB", (20, 20))
    image.info["comment"] = b"Doe^John"
    image.info["icc_profile"] = b"\x00" * 16
    assert fit(image, options=options()).info == {}


def test_split_tiles_cover_the_image() -> None:
    image = Image.fromarray(np.arange(7 * 5 * 3, dtype=np.uint8).reshape(7, 5, 3))
    tiles = split_tiles(image, columns=2, rows=3)
    assert len(tiles) == 6
    assert sum(tile.width * tile.height for tile, _ in tiles) == 35
    top_left = np.asarray(tiles[0][0])
    assert (top_left == np.asarray(image)[: top_left.shape[0], : top_left.shape[1]]).all()


@pytest.mark.parametrize(
    ("row", "column", "rows", "columns", "expected"),
    [
        (0, 0, 2, 2, "top left"),
        (1, 1, 2, 2, "bottom right"),
        (1, 1, 3, 3, "centre"),
        (0, 1, 3, 3, "top centre"),
        (1, 2, 3, 3, "middle right"),
        (0, 1, 1, 2, "right"),
        (2, 0, 3, 1, "bottom"),
        (0, 0, 1, 1, "whole image"),
        (1, 4, 2, 5, "bottom, column 5"),
        (3, 0, 4, 1, "row 4"),
    ],
)
def test_tile_position_names(row: int, column: int, rows: int, columns: int, expected: str) -> None:
    assert tile_position(row=row, column=column, rows=rows, columns=columns) == expected
