"""What the frames of a multi-frame object are (a volume, time, dose planes) and their order."""

from __future__ import annotations

import math

from pydicom.dataset import Dataset
from pydicom.tag import Tag

from bot.imaging.dicom import groups, values
from bot.imaging.types import Layout

# Modalities whose frames (or single-frame files) are slices of one volume.
CROSS_SECTIONAL = frozenset({"CT", "MR", "PT"})
# Modalities whose multi-frame objects are runs over time, whatever their header says.
_CINE_MODALITIES = frozenset({"US", "XA", "RF", "ES"})
# FrameIncrementPointer targets that make frames a time series (PS3.3 C.7.6.6).
_TIME_TAGS = frozenset({Tag(0x0018, 0x1063), Tag(0x0018, 0x1065)})  # FrameTime(Vector)
# Positions closer than this (mm) are the same position.
_SAME_POSITION_MM = 1e-3


def layout_of(dataset: Dataset, *, modality: str | None, frames: int) -> Layout:
    """The layout of a multi-frame object with `frames` frames."""
    if modality == "RTDOSE":
        return Layout.DOSE
    timed = _timed(dataset)
    if modality in CROSS_SECTIONAL:
        positions = frame_positions(dataset, frames)
        if _all_known(positions):
            # Several frames per position are echoes, phases or time points, not one volume.
            return Layout.VOLUME if _distinct(positions) else Layout.FRAMES
        return Layout.CINE if timed else Layout.VOLUME
    if timed or modality in _CINE_MODALITIES:
        return Layout.CINE
    return Layout.FRAMES


def frame_order(dataset: Dataset, *, layout: Layout, frames: int) -> list[int]:
    """Frame indices in reading order: by plane position, by dose-grid offset, else as stored."""
    keys: list[float] = []
    if layout is Layout.VOLUME:
        keys = frame_positions(dataset, frames)
    elif layout is Layout.DOSE:
        keys = _grid_offsets(dataset, frames)
    if len(keys) == frames and _all_known(keys):
        return sorted(range(frames), key=lambda index: (keys[index], index))
    return list(range(frames))


def frame_positions(dataset: Dataset, frames: int) -> list[float]:
    """Each frame's position along its slice normal (MISSING where the file has none)."""
    return [groups.position(dataset, index) for index in range(frames)]


def _grid_offsets(dataset: Dataset, frames: int) -> list[float]:
    """RT dose planes' GridFrameOffsetVector, one offset per frame, else empty."""
    offsets = values.vector(dataset, "GridFrameOffsetVector", length=frames)
    return [] if offsets is None else [float(v) for v in offsets]


def _timed(dataset: Dataset) -> bool:
    """True when FrameIncrementPointer says the frames follow each other in time."""
    pointer = values.get(dataset, "FrameIncrementPointer")
    pointers = values.as_list(pointer) or [pointer]
    try:
        return any(Tag(item) in _TIME_TAGS for item in pointers if isinstance(item, int))
    except Exception:
        return False


def _all_known(keys: list[float]) -> bool:
    """True when every key is a real number."""
    return bool(keys) and all(math.isfinite(key) for key in keys)


def _distinct(positions: list[float]) -> bool:
    """True when no two positions coincide."""
    rounded = {round(position / _SAME_POSITION_MM) for position in positions}
    return len(rounded) == len(positions)
