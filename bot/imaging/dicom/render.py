"""Frames of one acquisition -> model images, with one intensity mapping for all of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

from bot.errors import DicomNoPixelData
from bot.imaging import geometry
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
) -> list[Image.Image]:
    """Model images of the `chosen` sources; a min-max spans every source, as Google's MR does."""
    shared = acquisition_range(sources, options=options) if intensity is Intensity.MIN_MAX else None
    images = []
    for position in chosen:
        dataset, frame = read(sources[position], options=options)
        rgb = dicom_pixels.to_rgb(
            frame, dataset, index=sources[position].index, intensity=intensity, shared=shared
        )
        images.append(geometry.fit(Image.fromarray(rgb), options=options))
    return images


def acquisition_range(sources: Sequence[Source], *, options: ImagingOptions) -> tuple[float, float]:
    """The lowest and highest grey value over all sources, decoding one frame at a time."""
    low, high = np.inf, -np.inf
    for source in sources:
        _, frame = read(source, options=options)
        if frame.grey is not None:
            frame_low, frame_high = windows.value_range(frame.grey)
            low, high = min(low, frame_low), max(high, frame_high)
    return (float(low), float(high)) if low <= high else (0.0, 0.0)


def read(source: Source, *, options: ImagingOptions) -> tuple[Dataset, Frame]:
    """Load and decode one frame, after the decoder and pixel-cap checks."""
    dataset = source.load()
    if not any(
        keyword in dataset for keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
    ):
        raise DicomNoPixelData(detail="DICOM data set without pixel data")
    dicom_pixels.check_decodable(dataset, cap=geometry.pixel_cap(options))
    return dataset, dicom_pixels.read_frame(dataset, index=source.index)


def grey_values(frame: Frame, *, options: ImagingOptions) -> GreyValues | None:
    """A grey frame's values shrunk like its model image, to be re-mapped with a series."""
    if frame.grey is None:
        return None
    low, high = windows.value_range(frame.grey)
    finite = np.nan_to_num(frame.grey, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    shrunk = geometry.downsample(Image.fromarray(finite), side=options.model_side)
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
        mapped = (255 - mapped).astype(np.uint8)
    return geometry.fit(Image.fromarray(windows.grey_to_rgb(mapped)), options=options)
