"""Read a DICOM data set and describe it with values that are safe to log."""

from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass, field

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset
from pydicom.filereader import _read_file_meta_info, read_preamble
from pydicom.filereader import read_dataset as read_elements
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from bot.errors import CorruptImage, ImagingError
from bot.imaging.budget import Allowance
from bot.imaging.dicom import groups, values
from bot.imaging.dicom import modality as modalities
from bot.imaging.dicom.values import MISSING
from bot.imaging.types import PrivacyFlag, Specialty

_IDENTIFIERS = ("PatientName", "PatientID", "PatientBirthDate")
# When the image was taken, to tell a prior film from a current one (never logged or shown).
_DATES = ("StudyDate", "AcquisitionDate")
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
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
    frame_pixels: int  # rows x columns, 0 when unreadable
    # YYYYMMDD of the study (or acquisition): kept in memory to order films, never logged.
    taken: str | None = field(default=None, repr=False)


def read_dataset(data: bytes, *, allowance: Allowance) -> Dataset:
    """Parse DICOM bytes (with or without the 128-byte preamble) into a data set."""
    try:
        dataset = _parse(data, allowance=allowance)
    except ImagingError:
        raise
    except Exception as exc:
        # pydicom raises many types on malformed input; they all mean "not readable".
        raise CorruptImage(detail="pydicom could not parse the data set") from exc
    _ensure_transfer_syntax(dataset)
    return dataset


def _parse(data: bytes, *, allowance: Allowance) -> Dataset:
    """pydicom's reading, but a Deflated data set is inflated here, under the allowance.

    pydicom inflates a Deflated Explicit VR Little Endian data set whole, without a
    limit, inside `dcmread` (1 MB can become 1 GiB). The file meta is read with the
    function `dcmread` itself uses, so both see the same transfer syntax.
    """
    with_preamble = data[128:132] == b"DICM"
    stream = io.BytesIO(data)
    preamble = read_preamble(stream, force=True)
    meta = _read_file_meta_info(stream)
    if meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
        return pydicom.dcmread(io.BytesIO(data), force=not with_preamble)
    inflated = io.BytesIO(allowance.inflate(stream.read()))
    body = read_elements(inflated, False, True)  # explicit VR, little endian (PS3.5 A.5)
    dataset = FileDataset("", body, preamble, meta, False, True)
    dataset.set_original_encoding(False, True, body._character_set)
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


def describe(dataset: Dataset, *, secret: bytes) -> DicomHeader:
    """The safe description of a data set: codes, flags, opaque keys and counts.

    Keys are keyed hashes: they match between files described with the same `secret`
    (one per file loader, shared by its decoding processes) and are useless for looking
    up or guessing the UIDs they came from.
    """
    modality = modalities.normalise(values.text(dataset, "Modality"))
    stack = series_key(dataset, secret=secret)
    return DicomHeader(
        modality=modality,
        kind=modalities.kind_for(modality),
        specialty=modalities.specialty_for(modality),
        privacy_flags=privacy_flags(dataset),
        series_key=stack,
        acquisition_key=acquisition_key(dataset, stack=stack, secret=secret),
        sort_key=sort_key(dataset),
        frames=frame_count(dataset),
        has_pixels=any(keyword in dataset for keyword in _PIXEL_KEYWORDS),
        frame_pixels=frame_pixels(dataset),
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


def series_key(dataset: Dataset, *, secret: bytes) -> str | None:
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
    return _digest("stack", parts, secret=secret)


def acquisition_key(dataset: Dataset, *, stack: str | None, secret: bytes) -> str | None:
    """The stack key with AcquisitionNumber: tells repeated acquisitions of one stack apart."""
    if stack is None:
        return None
    return _digest("acquisition", [stack, values.text(dataset, "AcquisitionNumber")], secret=secret)


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


def frame_pixels(dataset: Dataset) -> int:
    """Rows x Columns, 0 when either is absent or unreadable."""
    rows, columns = values.number(dataset, "Rows"), values.number(dataset, "Columns")
    if rows == MISSING or columns == MISSING or rows < 1 or columns < 1:
        return 0
    return int(rows) * int(columns)


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


def _digest(kind: str, parts: list[str], *, secret: bytes) -> str:
    """A keyed hash of `parts`, 24 hex digits."""
    material = "\x00".join([kind, *parts]).encode("utf-8", "backslashreplace")
    return hmac.new(secret, material, hashlib.sha256).hexdigest()[:24]
