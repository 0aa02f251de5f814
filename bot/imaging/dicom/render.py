"""Frames of one acquisition -> model images, with one intensity mapping for all of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

from bot.errors import DicomNoPixelData
from bot.imaging import geometry
from bot.imaging.budget import Allowance
from bot.imaging.dicom import pixels as dicom_pixels
from bot.imaging.dicom import windows
from bot.imaging.dicom.pixels import Frame
from bot.imaging.types import GreyValues, ImagingOptions, Intensity

Loader = Callable[[], Dataset]


@dataclass(frozen=True)
class Source:
    """Where one frame lives: a data set (loaded on demand, for zip entries) and a frame index."""

    load: Loader
    index: int = 0


def render_set(
    sources: Sequence[Source],
    chosen: Sequence[int],
    *,
    intensity: Intensity,
    options: ImagingOptions,
    allowance: Allowance,
) -> list[Image.Image]:
    """Model images of the `chosen` sources, each decoded once; only those are decoded.

    A min-max spans the chosen frames, as Google's MR does over the images it is given:
    each frame is kept shrunk (as `grey_values`) until the shared range is known.
    """
    if intensity is Intensity.MIN_MAX:
        return _min_max_set([sources[p] for p in chosen], options=options, allowance=allowance)
    images = []
    for position in chosen:
        dataset, frame = read(sources[position], options=options, allowance=allowance)
        mapped = dicom_pixels.to_pixels(
            frame, dataset, index=sources[position].index, intensity=intensity
        )
        images.append(geometry.fit(Image.fromarray(mapped), options=options))
    return images


def _min_max_set(
    sources: Sequence[Source], *, options: ImagingOptions, allowance: Allowance
) -> list[Image.Image]:
    """Grey frames on one range, the lowest to the highest value of all of them."""
    kept: list[GreyValues | Image.Image] = []
    for source in sources:
        _, frame = read(source, options=options, allowance=allowance)
        grey = grey_values(frame, options=options)
        if grey is None and frame.rgb is not None:  # colour where grey was expected
            kept.append(geometry.fit(Image.fromarray(frame.rgb), options=options))
        elif grey is not None:
            kept.append(grey)
    greys = [item for item in kept if isinstance(item, GreyValues)]
    shared = (min(g.low for g in greys), max(g.high for g in greys)) if greys else (0.0, 0.0)
    return [
        from_grey(item, shared=shared, options=options) if isinstance(item, GreyValues) else item
        for item in kept
    ]


def read(source: Source, *, options: ImagingOptions, allowance: Allowance) -> tuple[Dataset, Frame]:
    """Load and decode one frame, after the decoder, pixel-cap and budget checks."""
    dataset = source.load()
    if not any(
        keyword in dataset for keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
    ):
        raise DicomNoPixelData(detail="DICOM data set without pixel data")
    pixels = dicom_pixels.check_decodable(dataset, cap=geometry.pixel_cap(options))
    allowance.spend(pixels)
    return dataset, dicom_pixels.read_frame(dataset, index=source.index)


def grey_values(frame: Frame, *, options: ImagingOptions) -> GreyValues | None:
    """A grey frame's values shrunk like its model image, to be re-mapped with a series."""
    if frame.grey is None:
        return None
    low, high = frame.grey.value_range()
    shrunk = geometry.downsample(Image.fromarray(frame.grey.float32()), side=options.model_side)
    return GreyValues(
        values=np.asarray(shrunk, dtype=np.float32),
        low=low,
        high=high,
        monochrome1=frame.monochrome1,
    )


def from_grey(
    grey: GreyValues, *, shared: tuple[float, float], options: ImagingOptions
) -> Image.Image:
    """A model image from kept grey values and a range shared with the rest of its series."""
    mapped = windows.min_max(grey.values, low=shared[0], high=shared[1])
    if grey.monochrome1:
        np.subtract(255, mapped, out=mapped)
    return geometry.fit(Image.fromarray(mapped), options=options)
