"""Read a DICOM data set and describe it with values that are safe to log."""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from bot.errors import CorruptImage
from bot.imaging import modality as modalities
from bot.imaging.types import PrivacyFlag, Specialty
from bot.imaging.windows import FloatArray

_IDENTIFIERS = ("PatientName", "PatientID", "PatientBirthDate")
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# Series keys only need to match within this process; a per-process secret makes them
# useless for looking up or guessing the UID they came from.
_KEY_SECRET = secrets.token_bytes(32)
_MISSING = math.inf  # sorts after every real instance number or position
_UNREADABLE = object()


@dataclass(frozen=True)
class DicomHeader:
    """What the pipeline needs from a header; no value in it can identify a patient."""

    modality: str | None
    kind: str
    specialty: Specialty | None
    privacy_flags: frozenset[PrivacyFlag]
    series_key: str | None
    sort_key: tuple[float, ...]
    frames: int
    has_pixels: bool


def read_dataset(data: bytes) -> Dataset:
    """Parse DICOM bytes (with or without the 128-byte preamble) into a data set."""
    with_preamble = data[128:132] == b"DICM"
    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=not with_preamble)
    except Exception as exc:
        # pydicom raises many types on malformed input; they all mean "not readable".
        raise CorruptImage(detail="pydicom could not parse the data set") from exc
    _ensure_transfer_syntax(dataset)
    return dataset


def _ensure_transfer_syntax(dataset: Dataset) -> None:
    """Files without a meta header: record the encoding pydicom guessed, for the decoders."""
    if dataset.file_meta.get("TransferSyntaxUID") is not None:
        return
    implicit, little = dataset.original_encoding
    if little is None or implicit is None:
        return
    if implicit:
        dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    else:
        dataset.file_meta.TransferSyntaxUID = (
            ExplicitVRLittleEndian if little else ExplicitVRBigEndian
        )


def describe(dataset: Dataset) -> DicomHeader:
    """The safe description of a data set: codes, flags, opaque keys and counts."""
    modality = modalities.normalise(_text(dataset, "Modality"))
    return DicomHeader(
        modality=modality,
        kind=modalities.kind_for(modality),
        specialty=modalities.specialty_for(modality),
        privacy_flags=privacy_flags(dataset),
        series_key=series_key(dataset),
        sort_key=sort_key(dataset),
        frames=frame_count(dataset),
        has_pixels=any(keyword in dataset for keyword in _PIXEL_KEYWORDS),
    )


def privacy_flags(dataset: Dataset) -> frozenset[PrivacyFlag]:
    """Which kinds of identifying content the file holds (never the content itself)."""
    flags = set()
    if any(_text(dataset, keyword, unreadable="?") for keyword in _IDENTIFIERS):
        flags.add(PrivacyFlag.PATIENT_IDENTIFIERS)
    if _text(dataset, "BurnedInAnnotation").upper() == "YES":
        flags.add(PrivacyFlag.BURNED_IN_ANNOTATION)
    return frozenset(flags)


def series_key(dataset: Dataset) -> str | None:
    """An opaque key shared by the files of one series; None when nothing identifies it."""
    uid = _text(dataset, "SeriesInstanceUID")
    if uid:
        material = f"series\x00{uid}"
    else:
        study = _text(dataset, "StudyInstanceUID")
        if not study:
            return None
        material = f"study\x00{study}\x00{_text(dataset, 'SeriesNumber')}"
    digest = hmac.new(_KEY_SECRET, material.encode("utf-8", "backslashreplace"), hashlib.sha256)
    return digest.hexdigest()[:24]


def sort_key(dataset: Dataset) -> tuple[float, float]:
    """(InstanceNumber, position along the slice normal); missing values sort last."""
    return (_number(dataset, "InstanceNumber"), _slice_position(dataset))


def frame_count(dataset: Dataset) -> int:
    """NumberOfFrames, 1 when absent or unreadable."""
    frames = _number(dataset, "NumberOfFrames")
    return int(frames) if frames != _MISSING and frames >= 1 else 1


def _slice_position(dataset: Dataset) -> float:
    """ImagePositionPatient projected on the normal of ImageOrientationPatient."""
    position = _vector(dataset, "ImagePositionPatient", length=3)
    if position is None:
        return _MISSING
    orientation = _vector(dataset, "ImageOrientationPatient", length=6)
    if orientation is None:
        return float(position[2])  # axial slices are the common case
    normal = np.cross(orientation[:3], orientation[3:])
    return float(np.dot(position, normal))


def _vector(dataset: Dataset, keyword: str, *, length: int) -> FloatArray | None:
    """A multi-valued decimal attribute as floats, None when absent or malformed."""
    value = _get(dataset, keyword)
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or len(value) != length:
        return None
    try:
        values = np.array([float(str(item)) for item in value], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    return values if bool(np.all(np.isfinite(values))) else None


def _number(dataset: Dataset, keyword: str) -> float:
    """A single numeric attribute as a finite float, or +inf when missing or malformed."""
    value = _get(dataset, keyword)
    if value is None or value is _UNREADABLE:
        return _MISSING
    try:
        number = float(str(value))
    except (TypeError, ValueError, OverflowError):
        return _MISSING
    return number if math.isfinite(number) else _MISSING


def _text(dataset: Dataset, keyword: str, *, unreadable: str = "") -> str:
    """An attribute as stripped text; `unreadable` when its value cannot be converted."""
    value = _get(dataset, keyword)
    if value is _UNREADABLE:
        return unreadable
    try:
        return "" if value is None else str(value).strip()
    except Exception:
        return unreadable


def _get(dataset: Dataset, keyword: str) -> object:
    """An attribute's value, None when absent, _UNREADABLE when it fails to convert."""
    try:
        return dataset.get(keyword)
    except Exception:
        # pydicom converts raw values lazily, so a malformed value raises only here; the
        # attribute is still present, and callers choose what that counts as.
        return _UNREADABLE
