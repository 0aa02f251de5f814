"""Sizes and shapes: pad to a square, downsample to the model's side, split into tiles."""

from __future__ import annotations

import math

from PIL import Image

from bot.imaging.types import ImagingOptions

# Resampling never upsamples; LANCZOS keeps fine detail (lung markings, nuclei) when shrinking.
_RESAMPLE = Image.Resampling.LANCZOS
# Pillow first shrinks by an integer factor when the image is this many times the target:
# much faster on slide-sized images, indistinguishable at the final size.
_REDUCING_GAP = 3.0
# A tile's aspect ratio may be at most this far from square.
_MAX_TILE_ASPECT = 2.0


def pixel_cap(options: ImagingOptions) -> int:
    """Our pixel limit, never above Pillow's, so Pillow never warns about a bomb."""
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return options.max_pixels if pillow_limit is None else min(options.max_pixels, pillow_limit)


def fit(image: Image.Image, *, options: ImagingOptions) -> Image.Image:
    """Make `image` model-ready: RGB, long side at most model_side, padded square if asked."""
    image = downsample(image, side=options.model_side)
    if options.pad_to_square:
        # Padding after shrinking gives the geometry of padding first without ever
        # allocating a full-resolution square canvas.
        image = pad_to_square(image)
    return pixels_only(image)


def downsample(image: Image.Image, *, side: int) -> Image.Image:
    """Shrink so the long side is at most `side`, keeping the aspect ratio; never enlarge."""
    width, height = image.size
    long_side = max(width, height)
    if long_side <= side:
        return image
    scale = side / long_side
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, _RESAMPLE, reducing_gap=_REDUCING_GAP)


def pad_to_square(image: Image.Image) -> Image.Image:
    """Center `image` on a black square whose side is its long side."""
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    canvas = Image.new("RGB", (side, side), (0, 0, 0))
    canvas.paste(image.convert("RGB"), ((side - width) // 2, (side - height) // 2))
    return canvas


def pixels_only(image: Image.Image) -> Image.Image:
    """A fresh RGB image with the same pixels and no metadata (EXIF, ICC, text chunks)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return Image.frombytes("RGB", rgb.size, rgb.tobytes())


def tile_grid(width: int, height: int, *, max_tiles: int, min_side: int) -> tuple[int, int]:
    """(columns, rows) of the most roughly square tiles, each side at least `min_side`."""
    best = (1, 1)
    best_score = (1, 0.0)
    for columns in range(1, max_tiles + 1):
        for rows in range(1, max_tiles // columns + 1):
            tile_w, tile_h = width / columns, height / rows
            if min(tile_w, tile_h) < min_side:
                continue
            aspect = abs(math.log(tile_w / tile_h))
            if aspect > math.log(_MAX_TILE_ASPECT):
                continue
            score = (columns * rows, -aspect)
            if score > best_score:
                best, best_score = (columns, rows), score
    return best


def split_tiles(image: Image.Image, *, columns: int, rows: int) -> list[tuple[Image.Image, str]]:
    """Cut `image` into a grid, left to right then top to bottom, each with its label."""
    width, height = image.size
    xs = [round(i * width / columns) for i in range(columns + 1)]
    ys = [round(j * height / rows) for j in range(rows + 1)]
    count = columns * rows
    tiles = []
    for row in range(rows):
        for column in range(columns):
            tile = image.crop((xs[column], ys[row], xs[column + 1], ys[row + 1]))
            number = row * columns + column + 1
            place = tile_position(row=row, column=column, rows=rows, columns=columns)
            tiles.append((tile, f"TILE {number} of {count} ({place})"))
    return tiles


def tile_position(*, row: int, column: int, rows: int, columns: int) -> str:
    """Words for where a tile sits, e.g. "top left", "centre", "row 2, column 5"."""
    vertical = _place_name(row, rows, words=("top", "middle", "bottom"), axis="row")
    horizontal = _place_name(column, columns, words=("left", "centre", "right"), axis="column")
    if not vertical or not horizontal:
        return vertical or horizontal or "whole image"
    if vertical == "middle" and horizontal == "centre":
        return "centre"
    if vertical.startswith("row") or horizontal.startswith("column"):
        return f"{vertical}, {horizontal}"
    return f"{vertical} {horizontal}"


def _place_name(index: int, count: int, *, words: tuple[str, str, str], axis: str) -> str:
    """One axis of a tile position: a word for grids up to 3, else a number."""
    if count == 1:
        return ""
    if count == 2:
        return (words[0], words[2])[index]
    if count == 3:
        return words[index]
    return f"{axis} {index + 1}"
