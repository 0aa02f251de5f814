"""Boxes a model put on an image, drawn with their labels on the image it saw; pure.

MedGemma 1.5 gives a box as [y0, x0, y1, x1] normalised to 0-1000 of the image it was
sent, which the bot pads to a square: the boxes are drawn on that padded square, not
mapped back to the file as shared, so what a reader sees is what the model answered
about. A small image is enlarged by a whole factor (each pixel a block, nothing
smoothed) so the labels stay readable; the PNG carries no metadata.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

SCALE = 1000  # the boxes' coordinate range
MIN_SIDE = 512  # a smaller image is enlarged by a whole factor to at least this
MAX_BOXES = 20  # a model that lists more is not drawn past this
MAX_LABEL = 40  # characters of a label drawn
FONT_SIZE = 16
# Colours that stand out on grey radiographs, one per box in turn.
COLOURS = ((255, 64, 64), (64, 200, 255), (255, 200, 0), (80, 255, 120), (255, 96, 255))
LABEL_BACKGROUND = (0, 0, 0)


@dataclass(frozen=True)
class Box:
    """One box in 0-1000 coordinates of the image the model saw, with the model's label."""

    top: float
    left: float
    bottom: float
    right: float
    label: str = ""


def label_text(box: Box, number: int) -> str:
    """What is written at a box: its number and label, in the font's ASCII, cut to fit."""
    printable = "".join(c if " " <= c <= "~" else "?" for c in box.label.strip())
    if len(printable) > MAX_LABEL:
        printable = printable[: MAX_LABEL - 3] + "..."
    return f"{number} {printable}".rstrip()


def enlarged(image: Image.Image) -> Image.Image:
    """The image in RGB, enlarged by a whole factor when smaller than MIN_SIDE."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    factor = -(-MIN_SIDE // max(1, min(rgb.size)))
    if factor <= 1:
        return rgb.copy()
    return rgb.resize((rgb.width * factor, rgb.height * factor), Image.Resampling.NEAREST)


def pixel_box(box: Box, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a box in pixels of an image of `size`."""
    width, height = size
    return (
        box.left / SCALE * width,
        box.top / SCALE * height,
        box.right / SCALE * width,
        box.bottom / SCALE * height,
    )


def draw_boxes(image: Image.Image, boxes: Sequence[Box]) -> bytes:
    """The image with each box outlined and labelled, as PNG bytes."""
    canvas = enlarged(image)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=FONT_SIZE)
    line = max(2, min(canvas.size) // 256)
    for number, box in enumerate(boxes[:MAX_BOXES], start=1):
        colour = COLOURS[(number - 1) % len(COLOURS)]
        left, top, right, bottom = pixel_box(box, canvas.size)
        draw.rectangle((left, top, right, bottom), outline=colour, width=line)
        text = label_text(box, number)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        room_above = top >= (y1 - y0) + 4
        at = (left, top - (y1 - y0) - 4) if room_above else (left + line, top + line)
        draw.rectangle(
            (at[0], at[1], at[0] + x1 - x0 + 4, at[1] + y1 - y0 + 4), fill=LABEL_BACKGROUND
        )
        draw.text((at[0] + 2 - x0, at[1] + 2 - y0), text, fill=colour, font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")  # Pillow writes no text, time or EXIF chunks unasked
    return buffer.getvalue()
