"""Google's recipes, transcribed for the tests: independent references, never the bot's code.

Sources (Google-Health/medgemma on GitHub):
- notebooks/high_dimensional_ct_hugging_face.ipynb: `norm` and `window` (CT, three windows).
- python/data_processing/image_utils.py: `window_accurate`.
- python/data_accessors/local_file_handlers/generic_dicom_handler.py: `_norm_cxr_imaging`
  (radiographs), `_process_buffered_mri_volume` (MR), `_same_acquisition` and
  `_DICOM_TAG_KEYWORDS_EQUAL_VALUE_FOR_INSTANCES_IN_SAME_ACQUISITION` (acquisitions).
Where Google's code has no rule (Enhanced CT/MR functional groups: its `_norm_ct_imaging`
reads only top-level RescaleSlope/Intercept), the reference follows DICOM PS3.3 and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut

# notebooks/high_dimensional_ct_hugging_face.ipynb, cell "Visualize CT slice windowing".
CT_WINDOW_CLIPS = [(-1024, 1024), (-135, 215), (0, 80)]

# generic_dicom_handler.py, verbatim list.
ACQUISITION_KEYWORDS = (
    "SOPClassUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "ImageType",
    "AcquisitionUID",
    "AcquisitionNumber",
    "AcquisitionDateTime",
    "AcquisitionDate",
    "AcquisitionTime",
    "PyramidUID",
    "Modality",
)

# The 1.5 WSI notebook (as summarised in shared/reference/medgemma.md): up to 125 random
# non-overlapping 896 x 896 tissue patches at about 10x, i.e. about 1 micrometre per pixel.
WSI_PATCH_SIDE = 896
WSI_MAX_PATCHES = 125
WSI_MICRONS_PER_PIXEL = 1.0


def ct_norm(ct_vol: np.ndarray, low: float, high: float) -> np.ndarray:
    """The notebook's `norm`: clip, float32, shift, scale to 0-255."""
    ct_vol = np.clip(ct_vol, low, high).astype(np.float32)
    ct_vol -= low
    ct_vol /= high - low
    ct_vol *= 255.0
    return ct_vol


def ct_window(hounsfield: np.ndarray) -> np.ndarray:
    """The notebook's `window` then `np.round(...).astype(np.uint8)`."""
    stacked = np.stack([ct_norm(hounsfield, low, high) for low, high in CT_WINDOW_CLIPS], axis=-1)
    return np.round(stacked, 0).astype(np.uint8)


def window_accurate(image: np.ndarray, center: float, width: float) -> np.ndarray:
    """image_utils.window_accurate with dtype uint8."""
    half_window_width = width // 2
    top_clip = center + half_window_width
    bottom_clip = center - half_window_width
    return np.round(
        np.interp(image.clip(bottom_clip, top_clip), (bottom_clip, top_clip), (0, 255)), 0
    ).astype(np.uint8)


def cxr(ds: pydicom.Dataset, stored: np.ndarray) -> np.ndarray:
    """_norm_cxr_imaging with the file's window (TraditionalWindow -> window_accurate).

    The window's output is uint8, so `_rescale_cxr_dynamic_range` returns it unchanged;
    MONOCHROME1 is then inverted as `iinfo(uint8).max - pixels`.
    """
    pixel_array = apply_modality_lut(stored, ds)
    windowed = window_accurate(pixel_array, _first(ds.WindowCenter), _first(ds.WindowWidth))
    if ds.PhotometricInterpretation == "MONOCHROME1":
        return (255 - windowed).astype(np.uint8)
    return windowed


def mr_volume(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """_process_buffered_mri_volume: one min-max over every image of the acquisition."""
    min_val = min(np.min(img) for img in images)
    max_val = max(np.max(img) for img in images)
    max_delta = max_val - min_val
    out = []
    for img in images:
        image = img.astype(np.float64)
        if max_delta == 0:
            image[...] = 255
        else:
            image -= min_val
            image /= max_delta
            image *= 255
            np.round(image, 0, out=image)
        out.append(image.astype(np.uint8))
    return out


def same_acquisition(first: pydicom.Dataset, other: pydicom.Dataset) -> bool:
    """_same_acquisition: every keyword equal (absent equals absent)."""
    return all(first.get(kw) == other.get(kw) for kw in ACQUISITION_KEYWORDS)


def acquisitions(datasets: Sequence[pydicom.Dataset]) -> list[list[int]]:
    """_modality_norm's grouping: consecutive instances in the same acquisition as the first."""
    groups: list[list[int]] = []
    for index, ds in enumerate(datasets):
        if groups and same_acquisition(datasets[groups[-1][0]], ds):
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _first(value: Any) -> float:
    """A multi-valued DS as its first value (TraditionalWindow receives the raw element)."""
    if isinstance(value, pydicom.multival.MultiValue):
        return float(value[0])
    return float(value)


# -- DICOM PS3.3, where Google's code is silent ---------------------------------------------


def frame_group(ds: pydicom.Dataset, index: int, sequence: str) -> pydicom.Dataset | None:
    """PS3.3 C.7.6.16: a functional group sits per frame or, for all frames, shared."""
    for container, item in (
        ("PerFrameFunctionalGroupsSequence", index),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        if container in ds and sequence in ds[container][item]:
            return ds[container][item][sequence][0]
    return None


def enhanced_rescale(ds: pydicom.Dataset, index: int, stored: np.ndarray) -> np.ndarray:
    """C.7.6.16.2.9 Pixel Value Transformation: stored * slope + intercept, per frame."""
    group = frame_group(ds, index, "PixelValueTransformationSequence")
    assert group is not None
    return stored.astype(np.float64) * float(group.RescaleSlope) + float(group.RescaleIntercept)


def enhanced_window(ds: pydicom.Dataset, index: int) -> tuple[float, float]:
    """C.7.6.16.2.10 Frame VOI LUT: this frame's WindowCenter and WindowWidth."""
    group = frame_group(ds, index, "FrameVOILUTSequence")
    assert group is not None
    return _first(group.WindowCenter), _first(group.WindowWidth)


def frame_position(ds: pydicom.Dataset, index: int) -> float:
    """C.7.6.16.2.3/4: ImagePositionPatient projected on the orientation's normal."""
    position = frame_group(ds, index, "PlanePositionSequence")
    orientation = frame_group(ds, index, "PlaneOrientationSequence")
    assert position is not None and orientation is not None
    cosines = [float(v) for v in orientation.ImageOrientationPatient]
    normal = np.cross(cosines[:3], cosines[3:])
    return float(np.dot([float(v) for v in position.ImagePositionPatient], normal))
