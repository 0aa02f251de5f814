"""DICOM pixel data -> 8-bit RGB arrays, the way Google prepares images for MedGemma."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.pixels.utils import pixel_array

from bot.errors import CorruptImage, DicomUnsupportedSyntax, ImageTooLarge
from bot.imaging import windows
from bot.imaging.windows import AnyArray, ByteArray, FloatArray

_COLOUR = frozenset({"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420"})
# A broken window or VOI LUT in the header is not worth refusing the image for.
_VOI_ERRORS = (ValueError, TypeError, IndexError, KeyError, AttributeError, NotImplementedError)


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


def render_frame(dataset: Dataset, *, index: int, modality: str | None) -> ByteArray:
    """Decode frame `index` and map it to RGB: CT windows, MR stretch, or the file's VOI."""
    try:
        # pydicom converts YBR colour to RGB while decoding (its default as_rgb=True).
        raw = pixel_array(dataset, index=index)
    except Exception as exc:
        # The decoder exists (checked before) but the data did not decode.
        raise CorruptImage(detail="pydicom could not decode the pixel data") from exc
    try:
        return _to_rgb(raw, dataset, modality=modality)
    except CorruptImage:
        raise
    except Exception as exc:
        # Malformed lookup tables, rescale values or photometric attributes.
        raise CorruptImage(detail="DICOM pixel values could not be mapped to RGB") from exc


def _to_rgb(raw: AnyArray, dataset: Dataset, *, modality: str | None) -> ByteArray:
    """Map decoded samples to 8-bit RGB according to photometric interpretation and modality."""
    photometric = str(dataset.get("PhotometricInterpretation", "")).strip().upper()
    if photometric == "PALETTE COLOR" and raw.ndim == 2:
        return _palette(raw, dataset)
    if raw.ndim == 3 and raw.shape[-1] == 3 and photometric in _COLOUR:
        return windows.to_8bit(raw, bits=_bits_stored(dataset, raw))
    if raw.ndim != 2:
        raise CorruptImage(detail="unexpected DICOM pixel layout")
    values = apply_modality_lut(raw, dataset)
    if modality == "CT":
        # CT values are Hounsfield units after the rescale; the windows are absolute.
        return windows.ct_rgb(values.astype(np.float64))
    grey = _voi_or_stretch(values, dataset, modality=modality)
    return windows.grey_to_rgb(_invert_if_monochrome1(grey, photometric))


def _voi_or_stretch(values: AnyArray, dataset: Dataset, *, modality: str | None) -> ByteArray:
    """MR: robust percentile stretch. Others: the file's VOI LUT or window, else min-max."""
    if modality == "MR":
        return windows.percentile_stretch(values.astype(np.float64))
    if _has_voi(dataset):
        try:
            windowed: FloatArray = apply_voi_lut(values, dataset, index=0).astype(np.float64)
        except _VOI_ERRORS:
            windowed = values.astype(np.float64)
        return windows.min_max(windowed)
    return windows.min_max(values.astype(np.float64))


def _has_voi(dataset: Dataset) -> bool:
    """True when the file names a VOI LUT or a window to display it with."""
    has_window = "WindowCenter" in dataset and "WindowWidth" in dataset
    return has_window or "VOILUTSequence" in dataset


def _invert_if_monochrome1(grey: ByteArray, photometric: str) -> ByteArray:
    """MONOCHROME1 stores low values as white; flip after windowing."""
    return (255 - grey).astype(np.uint8) if photometric == "MONOCHROME1" else grey


def _palette(raw: AnyArray, dataset: Dataset) -> ByteArray:
    """PALETTE COLOR through the file's lookup tables; 16-bit tables scaled to 8 bits."""
    rgb = apply_color_lut(raw, dataset)
    if rgb.dtype == np.uint8 or int(rgb.max(initial=0)) <= 255:
        # Some writers declare 16-bit tables that only hold 8-bit values.
        return rgb.astype(np.uint8)
    return windows.to_8bit(rgb, bits=16)


def _bits_stored(dataset: Dataset, raw: AnyArray) -> int:
    """BitsStored, or the array's own depth when missing."""
    try:
        return int(dataset.BitsStored)
    except Exception:
        return raw.dtype.itemsize * 8
