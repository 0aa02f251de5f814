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
from bot.imaging.dicom.windows import AnyArray, ByteArray, FloatArray
from bot.imaging.types import Intensity

# Once, at import (pydicom's plugin registry is not thread-safe; the import lock is).
dicom_codecs.register()

_COLOUR = frozenset({"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420"})
# A broken VOI LUT in the header is not worth refusing the image for.
_VOI_ERRORS = (ValueError, TypeError, IndexError, KeyError, AttributeError, NotImplementedError)


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: RGB when the file stores colour, else grey values after the rescale."""

    rgb: ByteArray | None = None
    grey: FloatArray | None = None
    monochrome1: bool = False


def check_decodable(dataset: Dataset, *, cap: int) -> None:
    """Refuse early: transfer syntax without an installed decoder, or too many pixels."""
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


def to_rgb(
    frame: Frame,
    dataset: Dataset,
    *,
    index: int,
    intensity: Intensity,
    shared: tuple[float, float] | None = None,
) -> ByteArray:
    """Map a frame to 8-bit RGB; `shared` is the acquisition's range for a min-max."""
    if frame.rgb is not None:
        return frame.rgb
    if frame.grey is None:
        raise CorruptImage(detail="DICOM frame without pixel values")
    if intensity is Intensity.CT_WINDOWS:
        # CT values are Hounsfield units after the rescale; the windows are absolute.
        return windows.ct_rgb(frame.grey)
    grey = _grey(frame.grey, dataset, index=index, intensity=intensity, shared=shared)
    if frame.monochrome1:
        grey = (255 - grey).astype(np.uint8)  # MONOCHROME1 stores low values as white
    return windows.grey_to_rgb(grey)


def _frame(raw: AnyArray, dataset: Dataset, *, index: int) -> Frame:
    """Sort decoded samples into colour or grey according to the photometric interpretation."""
    photometric = _photometric(dataset)
    if photometric == "PALETTE COLOR" and raw.ndim == 2:
        return Frame(rgb=_palette(raw, dataset))
    if raw.ndim == 3 and raw.shape[-1] == 3 and photometric in _COLOUR:
        return Frame(rgb=windows.to_8bit(raw, bits=_bits_stored(dataset, raw)))
    if raw.ndim != 2:
        raise CorruptImage(detail="unexpected DICOM pixel layout")
    return Frame(
        grey=modality_values(raw, dataset, index=index), monochrome1=photometric == "MONOCHROME1"
    )


def modality_values(raw: AnyArray, dataset: Dataset, *, index: int) -> FloatArray:
    """Stored values through the modality LUT: the frame's functional group, else the top level."""
    rescale = groups.rescale(dataset, index)
    if rescale is not None:
        slope, intercept = rescale
        return raw.astype(np.float64) * slope + intercept
    return np.asarray(apply_modality_lut(raw, dataset), dtype=np.float64)


def _grey(
    values_: FloatArray,
    dataset: Dataset,
    *,
    index: int,
    intensity: Intensity,
    shared: tuple[float, float] | None,
) -> ByteArray:
    """The file's window (Google's window_accurate), its VOI LUT, or a min-max."""
    if intensity is Intensity.FILE_WINDOW:
        window = groups.window(dataset, index)
        if window is not None:
            return windows.window_accurate(values_, center=window[0], width=window[1])
    if intensity is Intensity.FILE_LUT:
        try:
            return windows.min_max(
                np.asarray(apply_voi_lut(values_, dataset, index=0), dtype=np.float64)
            )
        except _VOI_ERRORS:
            pass
    low, high = shared if shared is not None else windows.value_range(values_)
    return windows.min_max(values_, low=low, high=high)


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
