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


def ct_rgb(hounsfield: FloatArray) -> ByteArray:
    """Window Hounsfield units into R, G and B, each round(clip((hu - lo) / (hi - lo)) * 255)."""
    channels = [_window(hounsfield, low=low, high=high) for low, high in CT_WINDOWS]
    return np.stack(channels, axis=-1)


def value_range(values: AnyArray) -> tuple[float, float]:
    """The finite minimum and maximum (0, 0 when nothing is finite)."""
    clean = finite(values)
    if clean.size == 0:
        return (0.0, 0.0)
    return (float(clean.min()), float(clean.max()))


def min_max(values: AnyArray, *, low: float | None = None, high: float | None = None) -> ByteArray:
    """Map [low, high] (the image's own range by default) linearly onto 0-255.

    Several slices mapped with one shared range keep their relative brightness, as Google's
    MR volume code does (`_process_buffered_mri_volume`): it also turns a flat range white.
    """
    clean = finite(values)
    if low is None or high is None:
        low, high = value_range(clean)
    if high <= low:
        return np.full(clean.shape, 255, dtype=np.uint8)
    return _window(clean, low=low, high=high)


def window_accurate(values: AnyArray, *, center: float, width: float) -> ByteArray:
    """Google's `window_accurate`: center +/- width // 2 onto 0-255, rounded, no stretch after."""
    clean = finite(values)
    half = width // 2
    if half <= 0:
        # A one-unit window is a threshold at the centre (DICOM PS3.3 C.11.2.1.2.1).
        return np.where(clean > center, 255, 0).astype(np.uint8)
    low, high = center - half, center + half
    # np.interp as Google writes it: the same arithmetic gives the same roundings.
    mapped: FloatArray = np.interp(clean.clip(low, high), (low, high), (0.0, 255.0))
    return np.rint(mapped).astype(np.uint8)


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


def finite(values: AnyArray) -> FloatArray:
    """As float64, with NaN and infinities replaced by 0."""
    return np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
