"""Read a DICOM data set and describe it with values that are safe to log."""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass, field

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from bot.errors import CorruptImage
from bot.imaging.dicom import groups, values
from bot.imaging.dicom import modality as modalities
from bot.imaging.dicom.values import MISSING
from bot.imaging.types import PrivacyFlag, Specialty

_IDENTIFIERS = ("PatientName", "PatientID", "PatientBirthDate")
# When the image was taken, to tell a prior film from a current one (never logged or shown).
_DATES = ("StudyDate", "AcquisitionDate")
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# Keys only need to match within this process; a per-process secret makes them useless for
# looking up or guessing the UIDs they came from.
_KEY_SECRET = secrets.token_bytes(32)
# What Google's DICOM server compares to tell one acquisition from the next
# (generic_dicom_handler.py, _DICOM_TAG_KEYWORDS_EQUAL_VALUE_FOR_INSTANCES_IN_SAME_ACQUISITION),
# less AcquisitionNumber (see acquisition_key) and the acquisition date and time: scanners
# stamp each slice of one volume with its own time (sequential CT, 2D MR), which would
# break one volume into single images.
_STACK_KEYWORDS = (
    "SOPClassUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "ImageType",
    "AcquisitionUID",
    "PyramidUID",
    "Modality",
)


@dataclass(frozen=True)
class DicomHeader:
    """What the pipeline needs from a header; no value in it can identify a patient."""

    modality: str | None
    kind: str
    specialty: Specialty | None
    privacy_flags: frozenset[PrivacyFlag]
    series_key: str | None
    acquisition_key: str | None
    sort_key: tuple[float, float]
    frames: int
    has_pixels: bool
    # YYYYMMDD of the study (or acquisition): kept in memory to order films, never logged.
    taken: str | None = field(default=None, repr=False)


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
    modality = modalities.normalise(values.text(dataset, "Modality"))
    stack = series_key(dataset)
    return DicomHeader(
        modality=modality,
        kind=modalities.kind_for(modality),
        specialty=modalities.specialty_for(modality),
        privacy_flags=privacy_flags(dataset),
        series_key=stack,
        acquisition_key=acquisition_key(dataset, stack=stack),
        sort_key=sort_key(dataset),
        frames=frame_count(dataset),
        has_pixels=any(keyword in dataset for keyword in _PIXEL_KEYWORDS),
        taken=taken(dataset),
    )


def privacy_flags(dataset: Dataset) -> frozenset[PrivacyFlag]:
    """Which kinds of identifying content the file holds (never the content itself)."""
    flags = set()
    if any(values.text(dataset, keyword, unreadable="?") for keyword in _IDENTIFIERS):
        flags.add(PrivacyFlag.PATIENT_IDENTIFIERS)
    if values.text(dataset, "BurnedInAnnotation").upper() == "YES":
        flags.add(PrivacyFlag.BURNED_IN_ANNOTATION)
    return frozenset(flags)


def taken(dataset: Dataset) -> str | None:
    """The study date, else the acquisition date, as YYYYMMDD; None when neither is valid."""
    for keyword in _DATES:
        value = values.text(dataset, keyword)
        if len(value) == 8 and value.isascii() and value.isdigit():
            return value
    return None


def series_key(dataset: Dataset) -> str | None:
    """An opaque key shared by the files of one stack; None when no series identifies it.

    A stack is one series, SOP class, image type, modality and plane orientation, so a
    localizer or a reformat stored in the same series as the axial slices stays apart.
    """
    uid = values.text(dataset, "SeriesInstanceUID")
    study = values.text(dataset, "StudyInstanceUID")
    if not uid and not study:
        return None
    parts = [values.text(dataset, keyword) for keyword in _STACK_KEYWORDS]
    if not uid:
        parts.append(values.text(dataset, "SeriesNumber"))
    parts.append(_orientation(dataset))
    return _digest("stack", parts)


def acquisition_key(dataset: Dataset, *, stack: str | None) -> str | None:
    """The stack key with AcquisitionNumber: tells repeated acquisitions of one stack apart."""
    if stack is None:
        return None
    return _digest("acquisition", [stack, values.text(dataset, "AcquisitionNumber")])


def sort_key(dataset: Dataset) -> tuple[float, float]:
    """(InstanceNumber, position along the slice normal); missing values sort last."""
    position = groups.project(
        values.vector(dataset, "ImagePositionPatient", length=3),
        values.vector(dataset, "ImageOrientationPatient", length=6),
    )
    return (values.number(dataset, "InstanceNumber"), position)


def frame_count(dataset: Dataset) -> int:
    """NumberOfFrames, 1 when absent or unreadable."""
    frames = values.number(dataset, "NumberOfFrames")
    return int(frames) if frames != MISSING and frames >= 1 else 1


def _orientation(dataset: Dataset) -> str:
    """The slice normal, rounded so that float noise in the header does not split a stack."""
    orientation = values.vector(dataset, "ImageOrientationPatient", length=6)
    if orientation is None:
        shared = groups.frame_group(dataset, 0, "PlaneOrientationSequence")
        if shared is not None:
            orientation = values.vector(shared, "ImageOrientationPatient", length=6)
    if orientation is None:
        return ""
    rounded = np.round(groups.normal(orientation), 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    return ",".join(f"{v:.2f}" for v in rounded)


def _digest(kind: str, parts: list[str]) -> str:
    """A keyed hash of `parts`, 24 hex digits."""
    material = "\x00".join([kind, *parts]).encode("utf-8", "backslashreplace")
    return hmac.new(_KEY_SECRET, material, hashlib.sha256).hexdigest()[:24]
