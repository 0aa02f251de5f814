"""A zip of DICOM files -> its largest series, decoding only the sampled slices."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import DicomNoPixelData, ImagingError, UnsupportedFileType
from bot.imaging import archive, dicom, series
from bot.imaging.dicom import DicomHeader
from bot.imaging.dicom_file import decode_dicom, render
from bot.imaging.sniff import KIND_NAMES
from bot.imaging.types import DecodedFile, ImagingOptions, PrivacyFlag


@dataclass(frozen=True)
class _Entry:
    """A DICOM entry with pixels, and its header; its data set is parsed again if chosen."""

    data: bytes
    header: DicomHeader


def decode_zip(data: bytes, *, options: ImagingOptions) -> DecodedFile:
    """Decode the largest series in a zip (most slices); `skipped_series` counts the rest."""
    payloads = archive.dicom_entries(data, options=options)
    if not payloads:
        raise UnsupportedFileType(detail="zip without DICOM entries", kind=KIND_NAMES["zip"])
    groups = _group(_usable_entries(payloads))
    chosen = max(groups, key=_slice_count)  # max() keeps the first of equal groups
    skipped = len(groups) - 1
    if len(chosen) == 1:
        single = decode_dicom(chosen[0].data, options=options)
        return dataclasses.replace(single, source_format="zip", skipped_series=skipped)
    return dataclasses.replace(_decode_group(chosen, options=options), skipped_series=skipped)


def _usable_entries(payloads: Sequence[bytes]) -> list[_Entry]:
    """Entries that parse and hold pixels; raise the first problem when none does."""
    entries: list[_Entry] = []
    first_error: ImagingError | None = None
    for payload in payloads:
        try:
            header = dicom.describe(dicom.read_dataset(payload))
        except ImagingError as exc:
            first_error = first_error or exc
            continue
        if header.has_pixels:  # skips DICOMDIR, reports and other image-less objects
            entries.append(_Entry(data=payload, header=header))
    if not entries:
        raise first_error or DicomNoPixelData(detail="zip holds no DICOM image")
    return entries


def _group(entries: Sequence[_Entry]) -> list[list[_Entry]]:
    """Single-frame entries grouped by series; multi-frame or unkeyed entries stand alone."""
    groups: dict[str, list[_Entry]] = {}
    alone: list[list[_Entry]] = []
    for entry in entries:
        key = entry.header.series_key
        if key is None or entry.header.frames > 1:
            alone.append([entry])
        else:
            groups.setdefault(key, []).append(entry)
    return [*groups.values(), *alone]


def _slice_count(group: Sequence[_Entry]) -> int:
    """Slices in a group: files, or the frames of a lone multi-frame file."""
    return sum(entry.header.frames for entry in group)


def _decode_group(group: Sequence[_Entry], *, options: ImagingOptions) -> DecodedFile:
    """Sort the files of one series, sample them, and decode only the sampled ones."""
    ordered = sorted(group, key=lambda entry: entry.header.sort_key)
    chosen = [ordered[i] for i in series.sample_indices(len(ordered), options.max_slices)]
    images = []
    for entry in chosen:
        dataset = dicom.read_dataset(entry.data)
        images.extend(render(dataset, header=entry.header, indices=[0], options=options))
    flags: frozenset[PrivacyFlag] = frozenset().union(*(e.header.privacy_flags for e in group))
    return series.make_series(
        images,
        total=len(group),
        modality=series.common_modality([entry.header.modality for entry in group]),
        privacy_flags=flags,
        series_key=group[0].header.series_key,
        source_format="zip",
    )
