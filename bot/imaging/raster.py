"""Photos and slide images (PNG, JPEG, WebP, GIF, BMP, TIFF, HEIC, AVIF) -> model images."""

from __future__ import annotations

import io
import math

import numpy as np
import numpy.typing as npt
from PIL import (
    AvifImagePlugin,
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)
from pillow_heif.as_plugin import HeifImageFile

from bot.errors import CorruptImage, DecodeBudgetExceeded, ImageTooLarge, ImagingError
from bot.imaging import geometry
from bot.imaging.budget import Allowance
from bot.imaging.slides import pyramid
from bot.imaging.slides.patches import slide_patches
from bot.imaging.types import DecodedFile, ImagingOptions, Layout, ModelImage, Specialty

# Each sniffed type opens with exactly one Pillow plugin, so bytes are never tried against
# formats we did not ask for. Calling the plugin class (rather than Image.open) reads only
# the header and skips Pillow's own pixel check: we check against our cap ourselves, and a
# slide whose full-resolution page is huge can still be read from a smaller pyramid level.
_OPENERS: dict[str, type[ImageFile.ImageFile]] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "gif": GifImagePlugin.GifImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
    "heic": HeifImageFile,
    "avif": AvifImagePlugin.AvifImageFile,
}
RASTER_KINDS = frozenset(_OPENERS)
_HIGH_DEPTH_GREY = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
_WITH_ALPHA = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# Rows of a high-depth image mapped at a time: its float64 arithmetic then needs a few
# MB, not 8 bytes for every pixel of the image at once (2.3 GB for a 100 MP 16-bit PNG).
_STRIP_PIXELS = 1 << 20


def decode_raster(
    data: bytes, *, kind: str, options: ImagingOptions, allowance: Allowance
) -> DecodedFile:
    """Decode a picture file of sniffed type `kind` into model-ready images."""
    try:
        return _decode(data, kind=kind, options=options, allowance=allowance)
    except ImagingError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(detail=f"Pillow pixel limit reached for {kind}") from exc
    except MemoryError as exc:
        raise DecodeBudgetExceeded(detail=f"out of memory decoding {kind}") from exc
    except Exception as exc:
        # Pillow and its codecs raise many types on malformed input (OSError, SyntaxError,
        # ValueError, struct.error, EOFError, ...); all of them mean the same to the user.
        raise CorruptImage(detail=f"Pillow could not decode {kind}") from exc


def _decode(
    data: bytes, *, kind: str, options: ImagingOptions, allowance: Allowance
) -> DecodedFile:
    """Slide patches for whole-slide TIFFs; else open, pick a page, check the size, decode."""
    if kind == "tiff":
        patches = slide_patches(data, options=options, allowance=allowance)
        if patches is not None:
            return patches
    with _OPENERS[kind](io.BytesIO(data)) as image:
        slide = _select_page(image, kind=kind, options=options)
        if kind == "jpeg":
            # libjpeg can decode at 1/2, 1/4 or 1/8 scale: much less work for big photos.
            image.draft(image.mode, _wanted_size(image.size, options=options))
        allowance.spend(image.size[0] * image.size[1])
        image.load()
        rgb = to_rgb(ImageOps.exif_transpose(image))
    images = layout(rgb, options=options)
    return DecodedFile(
        kind="pathology" if slide else "photo",
        images=images,
        source_format=kind,
        specialty=Specialty.PATHOLOGIST if slide else None,
        layout=Layout.TILES if len(images) > 1 else Layout.SINGLE,
    )


def _select_page(image: ImageFile.ImageFile, *, kind: str, options: ImagingOptions) -> bool:
    """Seek a TIFF to the pyramid level to decode and check the pixel cap; True for slides."""
    cap = geometry.pixel_cap(options)
    slide = False
    if kind == "tiff":
        levels = pyramid.tiff_levels(image)
        slide = pyramid.looks_like_slide(image, levels=levels)
        wanted = _wanted_size(image.size, options=options)
        image.seek(pyramid.choose_level(levels, cap=cap, wanted=wanted).index)
    if image.size[0] * image.size[1] > cap:
        raise ImageTooLarge(detail=f"{kind} header exceeds the pixel cap")
    return slide


def _wanted_size(size: tuple[int, int], *, options: ImagingOptions) -> tuple[int, int]:
    """The smallest size that still gives every output image (or tile) full resolution."""
    width, height = size
    columns, rows = _grid(width, height, options=options)
    if columns * rows == 1:
        factor = options.model_side / max(width, height)
    else:
        factor = options.model_side / min(width / columns, height / rows)
    if factor >= 1:
        return size
    return (math.ceil(width * factor), math.ceil(height * factor))


def _grid(width: int, height: int, *, options: ImagingOptions) -> tuple[int, int]:
    """Tile grid for an image of this size (1 x 1 when tiling is off or not worth it)."""
    if options.pathology_tiles <= 1:
        return (1, 1)
    return geometry.tile_grid(
        width, height, max_tiles=options.pathology_tiles, min_side=options.model_side
    )


def layout(image: Image.Image, *, options: ImagingOptions) -> tuple[ModelImage, ...]:
    """One fitted image, or labelled tiles when a large image should be split."""
    columns, rows = _grid(image.width, image.height, options=options)
    if columns * rows == 1:
        return (ModelImage(image=geometry.fit(image, options=options)),)
    tiles = geometry.split_tiles(image, columns=columns, rows=rows)
    return tuple(
        ModelImage(image=geometry.fit(tile, options=options), label=label) for tile, label in tiles
    )


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, or 8-bit grey; transparency is composited on white.

    Grey stays one band (a third of RGB's memory, a quarter of Pillow's) until the
    image is shrunk to the model's side, where `geometry.fit` makes it RGB: each band
    is resampled alike, so the result is the same.
    """
    if image.mode in _HIGH_DEPTH_GREY:
        return _stretch_grey(image)
    if image.mode == "L" and "transparency" not in image.info:
        return image
    if image.mode == "P" or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _WITH_ALPHA:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _stretch_grey(image: Image.Image) -> Image.Image:
    """16-bit or float grey to 8 bits over its own range (12-bit data fills 0-255 too).

    In strips of rows: the same float64 arithmetic as on the whole image, with a few MB
    of temporaries instead of several copies of the image at 8 bytes a pixel.
    """
    strips = _row_strips(image.width, image.height)
    low, high = np.inf, -np.inf
    for box in strips:
        values = _finite(image.crop(box))
        low, high = min(low, float(values.min())), max(high, float(values.max()))
    scale = 255.0 / (high - low) if high > low else 0.0
    grey = np.empty((image.height, image.width), dtype=np.uint8)
    for box in strips:
        grey[box[1] : box[3]] = np.rint((_finite(image.crop(box)) - low) * scale).astype(np.uint8)
    return Image.fromarray(grey)


def _row_strips(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Crop boxes of whole rows, about _STRIP_PIXELS each, top to bottom."""
    rows = max(1, _STRIP_PIXELS // max(1, width))
    return [(0, top, width, min(height, top + rows)) for top in range(0, height, rows)]


def _finite(strip: Image.Image) -> npt.NDArray[np.float64]:
    """A strip's values as float64, NaN and infinities as 0."""
    values = np.asarray(strip, dtype=np.float64)
    return np.nan_to_num(values, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
