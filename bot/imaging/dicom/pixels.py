"""DICOM pixel data -> 8-bit RGB arrays, the way Google prepares images for MedGemma."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.pixels.utils import pixel_array

from bot.errors import CorruptImage, DicomUnsupportedSyntax, ImageTooLarge
from bot.imaging.dicom import codecs as dicom_codecs
from bot.imaging.dicom import groups, values, windows
from bot.imaging.dicom.plane import GreyPlane, by_rows
from bot.imaging.dicom.windows import AnyArray, ByteArray, FloatArray
from bot.imaging.types import Intensity

# Once, at import (pydicom's plugin registry is not thread-safe; the import lock is).
dicom_codecs.register()

_COLOUR = frozenset({"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420"})
# A broken VOI LUT in the header is not worth refusing the image for.
_VOI_ERRORS = (ValueError, TypeError, IndexError, KeyError, AttributeError, NotImplementedError)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: RGB when the file stores colour, else grey values and their rescale."""

    rgb: ByteArray | None = None
    grey: GreyPlane | None = None
    monochrome1: bool = False


def check_decodable(dataset: Dataset, *, cap: int) -> int:
    """Refuse early: transfer syntax without an installed decoder, or too many pixels.

    Returns the frame's pixels (rows x columns), for the decode's allowance.
    """
    uid = dataset.file_meta.get("TransferSyntaxUID")
    if uid is not None:
        try:
            available = get_decoder(uid).is_available
        except NotImplementedError:
            available = False
        if not available:
            raise DicomUnsupportedSyntax(detail="no installed decoder for the transfer syntax")
    try:
        pixels = int(dataset.Rows) * int(dataset.Columns)
    except Exception as exc:
        raise CorruptImage(detail="DICOM image without readable Rows/Columns") from exc
    if pixels > cap:
        raise ImageTooLarge(detail="DICOM frame exceeds the pixel cap")
    return pixels


def intensity_for(dataset: Dataset, *, modality: str | None) -> Intensity:
    """How a file's grey values become 8 bits (Google: CT windows, MR min-max, file window)."""
    photometric = _photometric(dataset)
    if photometric in _COLOUR or photometric == "PALETTE COLOR":
        return Intensity.COLOUR
    if modality == "CT":
        return Intensity.CT_WINDOWS
    if modality == "MR":
        return Intensity.MIN_MAX  # MR has no absolute scale; Google ignores its windows
    if groups.window(dataset, 0) is not None:
        return Intensity.FILE_WINDOW
    if "VOILUTSequence" in dataset:
        return Intensity.FILE_LUT
    return Intensity.MIN_MAX


def read_frame(dataset: Dataset, *, index: int) -> Frame:
    """Decode frame `index`: colour as RGB, grey through this frame's rescale."""
    try:
        # pydicom converts YBR colour to RGB while decoding (its default as_rgb=True).
        raw = pixel_array(dataset, index=index)
    except Exception as exc:
        # The decoder exists (checked before) but the data did not decode.
        raise CorruptImage(detail="pydicom could not decode the pixel data") from exc
    try:
        return _frame(raw, dataset, index=index)
    except CorruptImage:
        raise
    except Exception as exc:
        # Malformed lookup tables, rescale values or photometric attributes.
        raise CorruptImage(detail="DICOM pixel values could not be mapped") from exc


def to_pixels(
    frame: Frame,
    dataset: Dataset,
    *,
    index: int,
    intensity: Intensity,
) -> ByteArray:
    """Map a frame to 8 bits: RGB (rows, columns, 3), or one grey band (rows, columns).

    Grey stays one band until the image is shrunk (`geometry.fit` makes it RGB then):
    a third of the memory of three equal bands, and the same pixels in the end.
    """
    if frame.rgb is not None:
        return frame.rgb
    if frame.grey is None:
        raise CorruptImage(detail="DICOM frame without pixel values")
    if intensity is Intensity.CT_WINDOWS:
        # CT values are Hounsfield units after the rescale; the windows are absolute.
        return frame.grey.map(windows.ct_rgb, channels=3)
    grey = _grey(frame.grey, dataset, index=index, intensity=intensity)
    if frame.monochrome1:
        np.subtract(255, grey, out=grey)  # MONOCHROME1 stores low values as white
    return grey


def _frame(raw: AnyArray, dataset: Dataset, *, index: int) -> Frame:
    """Sort decoded samples into colour or grey according to the photometric interpretation."""
    photometric = _photometric(dataset)
    if photometric == "PALETTE COLOR" and raw.ndim == 2:
        return Frame(rgb=_palette(raw, dataset))
    if raw.ndim == 3 and raw.shape[-1] == 3 and photometric in _COLOUR:
        bits = _bits_stored(dataset, raw)
        return Frame(rgb=by_rows(raw, lambda part: windows.to_8bit(part, bits=bits)))
    if raw.ndim != 2:
        raise CorruptImage(detail="unexpected DICOM pixel layout")
    return Frame(
        grey=modality_plane(raw, dataset, index=index), monochrome1=photometric == "MONOCHROME1"
    )


def modality_plane(raw: AnyArray, dataset: Dataset, *, index: int) -> GreyPlane:
    """Stored values and the modality rescale: the frame's functional group, else the top level.

    The same values as pydicom's `apply_modality_lut`, computed later strip by strip;
    a Modality LUT (a table, not a rescale) is looked up at once, in its integer type.
    """
    rescale = groups.rescale(dataset, index)
    if rescale is not None:
        return GreyPlane(raw, slope=rescale[0], intercept=rescale[1])
    if dataset.get("ModalityLUTSequence"):
        return GreyPlane(np.asarray(apply_modality_lut(raw, dataset)))
    if "RescaleSlope" in dataset and "RescaleIntercept" in dataset:
        slope, intercept = float(dataset.RescaleSlope), float(dataset.RescaleIntercept)
        return GreyPlane(raw, slope=slope, intercept=intercept)
    return GreyPlane(raw)


def _grey(plane: GreyPlane, dataset: Dataset, *, index: int, intensity: Intensity) -> ByteArray:
    """The file's window (Google's window_accurate), its VOI LUT, or the frame's own min-max."""
    if intensity is Intensity.FILE_WINDOW:
        window = groups.window(dataset, index)
        if window is not None:
            center, width = window
            return plane.map(lambda v: windows.window_accurate(v, center=center, width=width))
    if intensity is Intensity.FILE_LUT:
        try:
            return _voi_lut(plane, dataset)
        except _VOI_ERRORS:
            pass
    low, high = plane.value_range()
    return plane.map(lambda v: windows.min_max(v, low=low, high=high))


def _voi_lut(plane: GreyPlane, dataset: Dataset) -> ByteArray:
    """The file's VOI LUT, its output stretched over its own range (two passes of strips)."""

    def lut(values_: FloatArray) -> FloatArray:
        return np.asarray(apply_voi_lut(values_, dataset, index=0), dtype=np.float64)

    low, high = np.inf, -np.inf
    for _, values_ in plane.strips():
        part_low, part_high = windows.value_range(lut(values_))
        low, high = min(low, part_low), max(high, part_high)
    return plane.map(lambda v: windows.min_max(lut(v), low=low, high=high))


def _palette(raw: AnyArray, dataset: Dataset) -> ByteArray:
    """PALETTE COLOR through the file's lookup tables; 16-bit tables scaled to 8 bits."""
    rgb = apply_color_lut(raw, dataset)
    if rgb.dtype == np.uint8 or int(rgb.max(initial=0)) <= 255:
        # Some writers declare 16-bit tables that only hold 8-bit values.
        return rgb.astype(np.uint8)
    return windows.to_8bit(rgb, bits=16)


def _photometric(dataset: Dataset) -> str:
    """PhotometricInterpretation, upper case, "" when absent or unreadable."""
    return values.text(dataset, "PhotometricInterpretation").upper()


def _bits_stored(dataset: Dataset, raw: AnyArray) -> int:
    """BitsStored, or the array's own depth when missing."""
    try:
        return int(dataset.BitsStored)
    except Exception:
        return raw.dtype.itemsize * 8
