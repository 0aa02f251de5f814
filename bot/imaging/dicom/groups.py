"""Per-frame values of Enhanced (multi-frame) objects: functional groups, then the top level.

An Enhanced CT, MR or PET file keeps its rescale, window and plane position in functional
groups (DICOM PS3.3 C.7.6.16), either per frame or shared by all frames, not in the
top-level attributes that classic files and pydicom's `apply_modality_lut` use.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from bot.imaging.dicom import values
from bot.imaging.dicom.values import MISSING
from bot.imaging.dicom.windows import FloatArray

_PER_FRAME = "PerFrameFunctionalGroupsSequence"
_SHARED = "SharedFunctionalGroupsSequence"


def frame_group(dataset: Dataset, index: int, keyword: str) -> Dataset | None:
    """The first item of functional group `keyword` for frame `index`: its own, else shared."""
    for container, position in ((_PER_FRAME, index), (_SHARED, 0)):
        groups = values.item(dataset, container, position)
        found = values.item(groups, keyword) if groups is not None else None
        if found is not None:
            return found
    return None


def rescale(dataset: Dataset, index: int) -> tuple[float, float] | None:
    """(slope, intercept) of frame `index` from Pixel Value Transformation, None when absent."""
    group = frame_group(dataset, index, "PixelValueTransformationSequence")
    if group is None:
        return None
    slope = values.number(group, "RescaleSlope")
    intercept = values.number(group, "RescaleIntercept")
    if slope == MISSING or intercept == MISSING:
        return None
    return (slope, intercept)


def window(dataset: Dataset, index: int) -> tuple[float, float] | None:
    """(center, width) of frame `index`: Frame VOI LUT, else the top-level window."""
    for source in (frame_group(dataset, index, "FrameVOILUTSequence"), dataset):
        if source is None:
            continue
        center = values.number(source, "WindowCenter", first=True)
        width = values.number(source, "WindowWidth", first=True)
        if center != MISSING and width != MISSING and width > 0:
            return (center, width)
    return None


def position(dataset: Dataset, index: int) -> float:
    """Frame `index`'s position along its slice normal; MISSING when the file has none."""
    plane = frame_group(dataset, index, "PlanePositionSequence")
    oriented = frame_group(dataset, index, "PlaneOrientationSequence") or dataset
    if plane is None:
        return MISSING
    return project(
        values.vector(plane, "ImagePositionPatient", length=3),
        values.vector(oriented, "ImageOrientationPatient", length=6),
    )


def project(point: FloatArray | None, orientation: FloatArray | None) -> float:
    """ImagePositionPatient projected on the normal of ImageOrientationPatient."""
    if point is None:
        return MISSING
    if orientation is None:
        return float(point[2])  # axial slices are the common case
    return float(np.dot(point, normal(orientation)))


def normal(orientation: FloatArray) -> FloatArray:
    """The slice normal: row direction cross column direction."""
    return np.cross(orientation[:3], orientation[3:])
