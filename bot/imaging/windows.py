"""Intensity mappings from DICOM values to 8-bit pixels (pure numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ByteArray = npt.NDArray[np.uint8]
AnyArray = npt.NDArray[Any]

# Google's CT recipe (MedGemma 1.5 notebook): three Hounsfield windows as R, G and B.
CT_WINDOWS: tuple[tuple[float, float], ...] = (
    (-1024.0, 1024.0),  # R: wide, bone and air
    (-135.0, 215.0),  # G: soft tissue
    (0.0, 80.0),  # B: brain
)
# MR intensities have no absolute scale; percentiles ignore a few hot or dead pixels.
MR_PERCENTILES = (0.5, 99.5)


def ct_rgb(hounsfield: FloatArray) -> ByteArray:
    """Window Hounsfield units into R, G and B, each round(clip((hu - lo) / (hi - lo)) * 255)."""
    channels = [_window(hounsfield, low=low, high=high) for low, high in CT_WINDOWS]
    return np.stack(channels, axis=-1)


def min_max(values: FloatArray) -> ByteArray:
    """Stretch the full value range to 0-255 (all black when the image is flat)."""
    finite = _finite(values)
    return _window(finite, low=float(finite.min()), high=float(finite.max()))


def percentile_stretch(values: FloatArray) -> ByteArray:
    """Stretch the 0.5th-99.5th percentile range to 0-255, clipping the tails."""
    finite = _finite(values)
    low, high = (float(v) for v in np.percentile(finite, MR_PERCENTILES))
    if high <= low:
        return min_max(finite)
    return _window(finite, low=low, high=high)


def grey_to_rgb(grey: ByteArray) -> ByteArray:
    """Replicate one grey channel into three."""
    return np.repeat(grey[..., np.newaxis], 3, axis=-1)


def to_8bit(values: AnyArray, *, bits: int) -> ByteArray:
    """Scale unsigned samples of `bits` bits to 0-255 (colour data deeper than 8 bits)."""
    if values.dtype == np.uint8:
        return values.astype(np.uint8)
    top = float(2 ** max(1, min(bits, 64)) - 1)
    scaled = np.clip(values.astype(np.float64) / top, 0.0, 1.0) * 255.0
    return np.rint(scaled).astype(np.uint8)


def _window(values: FloatArray, *, low: float, high: float) -> ByteArray:
    """Map [low, high] linearly onto 0-255, clipping outside."""
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = np.clip((values - low) / (high - low), 0.0, 1.0)
    return np.rint(scaled * 255.0).astype(np.uint8)


def _finite(values: AnyArray) -> FloatArray:
    """As float64, with NaN and infinities replaced by 0."""
    return np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
