"""bot.imaging.boxes: the model's boxes drawn on the padded square image it saw."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bot.imaging.boxes import COLOURS, MIN_SIDE, Box, draw_boxes, enlarged, label_text, pixel_box

GREY = (90, 90, 90)


def drawn(image: Image.Image, boxes: list[Box]) -> np.ndarray:
    png = draw_boxes(image, boxes)
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG" and not picture.info.get("exif")
    return np.asarray(picture.convert("RGB"))


def test_a_box_is_outlined_where_its_coordinates_say() -> None:
    image = Image.new("RGB", (896, 896), GREY)
    box = Box(top=250, left=100, bottom=750, right=500, label="heart")
    pixels = drawn(image, [box])
    assert pixels.shape == (896, 896, 3)  # as the model saw it: not enlarged, not cropped
    red = np.array(COLOURS[0])
    # x 100/1000 of 896 = 89.6, y 250..750 -> 224..672: the left edge is the box's colour
    assert (pixels[448, 90] == red).all()
    assert (pixels[448, 300] == GREY).all()  # inside: the image untouched
    assert (pixels[448, 447] == red).all()  # the right edge, inside 500/1000 of 896
    assert (pixels[448, 600] == GREY).all()  # outside, right of it
    assert (pixels[800, 300] == GREY).all()  # below it


def test_each_box_has_its_own_colour_and_a_label() -> None:
    image = Image.new("RGB", (896, 896), GREY)
    boxes = [Box(100, 100, 300, 300, "a"), Box(500, 500, 900, 900, "b")]
    pixels = drawn(image, boxes)
    assert (pixels[180, 91] == np.array(COLOURS[0])).all()  # the first box's left edge
    assert (pixels[600, 449] == np.array(COLOURS[1])).all()  # the second box's
    # The second's label sits just above it, on a dark strip.
    strip = pixels[440:447, 449:470]
    assert (strip == 0).all(axis=-1).any()


def test_a_small_image_is_enlarged_by_a_whole_factor() -> None:
    image = Image.new("RGB", (64, 64), GREY)
    image.putpixel((10, 20), (255, 255, 255))
    big = enlarged(image)
    factor = -(-MIN_SIDE // 64)
    assert big.size == (64 * factor, 64 * factor)
    block = np.asarray(big)[20 * factor : 21 * factor, 10 * factor : 11 * factor]
    assert (block == 255).all()  # each pixel a block: nothing smoothed


@pytest.mark.parametrize(
    ("box", "number", "text"),
    [
        (Box(0, 0, 1, 1, "right clavicle"), 1, "1 right clavicle"),
        (Box(0, 0, 1, 1, ""), 2, "2"),
        (Box(0, 0, 1, 1, "右锁骨"), 3, "3 ???"),
        (Box(0, 0, 1, 1, "x" * 60), 1, "1 " + "x" * 37 + "..."),
    ],
)
def test_labels_are_numbered_and_kept_to_the_font(box: Box, number: int, text: str) -> None:
    assert label_text(box, number) == text


def test_coordinates_scale_with_the_image() -> None:
    box = Box(top=100, left=200, bottom=300, right=400)
    assert pixel_box(box, (1000, 500)) == (200.0, 50.0, 400.0, 150.0)
