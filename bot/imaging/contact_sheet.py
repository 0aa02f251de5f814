"""One PNG of the images a request sent to the model: a grid in the order sent, labelled.

This shows a reader what an answer is based on, so it adds nothing and changes nothing:
each tile is the model's own RGB image (windowed and sampled as sent, never windowed
again), only made smaller, and under it stands the label the prompt gave it ("SLICE 3",
"FRAME 2"), or its place in the order sent ("#7") where the prompt gave none (slide
patches, single DICOM images). The sheet is at most about `MAX_WIDTH` pixels wide and
as tall as it is wide, whatever the count (up to 125 patches fit in 162 px tiles), and
the bytes are the same for the same images: Pillow's built-in font, no file metadata.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from bot.imaging.types import ModelImage

MAX_WIDTH = 2048
MAX_TILE = 512  # a few images are shown this large at most (the model saw 896 px)
GAP = 8  # pixels between tiles and around the sheet
LABEL_HEIGHT = 18  # the strip under each tile that holds its label
FONT_SIZE = 12
BACKGROUND = (32, 32, 32)  # dark grey, so a black image's edges still show
INK = (255, 255, 255)
ELLIPSIS = "..."  # the default font's glyphs are ASCII; a long label is cut with this


@dataclass(frozen=True)
class Grid:
    """Where the tiles go: `columns` x `rows` squares of `tile` px, each with a label strip."""

    columns: int
    rows: int
    tile: int

    @property
    def size(self) -> tuple[int, int]:
        """The sheet's width and height in pixels."""
        width = self.columns * (self.tile + GAP) + GAP
        height = self.rows * (self.tile + LABEL_HEIGHT + GAP) + GAP
        return width, height

    def origin(self, index: int) -> tuple[int, int]:
        """The top-left corner of tile `index` (0-based, left to right, then down)."""
        row, column = divmod(index, self.columns)
        return GAP + column * (self.tile + GAP), GAP + row * (self.tile + LABEL_HEIGHT + GAP)


def grid_for(count: int, *, largest_side: int, max_width: int = MAX_WIDTH) -> Grid:
    """A near-square grid for `count` images whose biggest side is `largest_side`.

    Tiles are never larger than the images (nothing is enlarged) nor than `MAX_TILE`.
    """
    if count < 1:
        raise ValueError("a contact sheet needs at least one image")
    columns = math.ceil(math.sqrt(count))
    fitting = (max_width - GAP * (columns + 1)) // columns
    tile = max(1, min(MAX_TILE, fitting, largest_side))
    return Grid(columns=columns, rows=math.ceil(count / columns), tile=tile)


def fitted_size(size: tuple[int, int], tile: int) -> tuple[int, int]:
    """An image's size shrunk to fit a `tile` px square, its aspect ratio kept."""
    width, height = size
    scale = min(1.0, tile / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail(image: Image.Image, tile: int) -> Image.Image:
    """The image made small enough for its tile (Lanczos), its pixels otherwise as sent."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    size = fitted_size(rgb.size, tile)
    return rgb if size == rgb.size else rgb.resize(size, Image.Resampling.LANCZOS)


def label_text(seen: ModelImage, index: int) -> str:
    """What stands under a tile: the prompt's label, else its place in the order sent."""
    return seen.label or f"#{index + 1}"


def _fit_text(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    """`text`, cut with an ellipsis where it is wider than `width` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + ELLIPSIS) > width:
        text = text[:-1]
    return text + ELLIPSIS if text else ""


def contact_sheet(images: Sequence[ModelImage]) -> bytes:
    """The images laid out in order, each labelled, as PNG bytes (no metadata)."""
    grid = grid_for(len(images), largest_side=max(max(m.image.size) for m in images))
    sheet = Image.new("RGB", grid.size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=FONT_SIZE)
    for index, seen in enumerate(images):
        left, top = grid.origin(index)
        small = thumbnail(seen.image, grid.tile)
        centred = (left + (grid.tile - small.width) // 2, top + (grid.tile - small.height) // 2)
        sheet.paste(small, centred)
        text = _fit_text(label_text(seen, index), font, grid.tile)
        middle = (left + grid.tile / 2, top + grid.tile + LABEL_HEIGHT / 2)
        draw.text(middle, text, fill=INK, font=font, anchor="mm")
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")  # Pillow writes no text, time or EXIF chunks unasked
    return buffer.getvalue()
