"""Pages of a TIFF: find the pyramid levels of a slide and pick the one to decode."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import ImageFile, TiffImagePlugin

from bot.errors import ImageTooLarge

# Whole-slide files hold a few levels plus label and macro images; more pages than this
# is not a slide, and walking them all would cost time on hostile input.
_MAX_PAGES = 64
# Levels of one pyramid keep the aspect ratio up to rounding of odd sides.
_ASPECT_TOLERANCE = 0.02
# A single-page TIFF this large is a scanned slide rather than a photo.
_SLIDE_PIXELS = 20_000_000


@dataclass(frozen=True)
class Level:
    """One page of a TIFF that is a downsampled copy of the first page."""

    index: int
    size: tuple[int, int]

    @property
    def pixels(self) -> int:
        """Width times height."""
        return self.size[0] * self.size[1]


def tiff_levels(image: ImageFile.ImageFile) -> list[Level]:
    """Page 0 and the smaller pages with its aspect ratio (the pyramid), largest first."""
    first = Level(index=0, size=image.size)
    levels = [first]
    ratio = first.size[0] / max(1, first.size[1])
    for index in range(1, _MAX_PAGES):
        try:
            image.seek(index)
        except EOFError:
            break
        width, height = image.size
        smaller = width * height < first.pixels
        if smaller and abs(width / max(1, height) - ratio) <= _ASPECT_TOLERANCE * ratio:
            levels.append(Level(index=index, size=(width, height)))
    image.seek(0)
    return sorted(levels, key=lambda level: level.pixels, reverse=True)


def looks_like_slide(image: ImageFile.ImageFile, *, levels: list[Level]) -> bool:
    """True for tiled, pyramidal or very large TIFFs, the shapes slide scanners write."""
    tiled = isinstance(image, TiffImagePlugin.TiffImageFile) and (
        TiffImagePlugin.TILEWIDTH in image.tag_v2
    )
    return tiled or len(levels) > 1 or levels[0].pixels >= _SLIDE_PIXELS


def choose_level(levels: list[Level], *, cap: int, wanted: tuple[int, int]) -> Level:
    """The smallest level at least `wanted` in size under the cap, else the largest under it."""
    fitting = [level for level in levels if level.pixels <= cap]
    if not fitting:
        raise ImageTooLarge(detail="every TIFF page exceeds the pixel cap")
    # One pixel of slack: levels are rounded down from odd sides.
    big_enough = [
        level
        for level in fitting
        if level.size[0] + 1 >= wanted[0] and level.size[1] + 1 >= wanted[1]
    ]
    if big_enough:
        return min(big_enough, key=lambda level: level.pixels)
    return max(fitting, key=lambda level: level.pixels)
