"""A zip of DICOM files -> its largest acquisition, decoding only what the mapping needs."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import DecodeBudgetExceeded, DicomNoPixelData, ImagingError, UnsupportedFileType
from bot.imaging import series
from bot.imaging.budget import Allowance
from bot.imaging.dicom import acquisition, archive
from bot.imaging.dicom import pixels as dicom_pixels
from bot.imaging.dicom import read as dicom
from bot.imaging.dicom import render as dicom_render
from bot.imaging.dicom.acquisition import Keys
from bot.imaging.dicom.file import decode_dicom
from bot.imaging.dicom.layout import CROSS_SECTIONAL
from bot.imaging.dicom.read import DicomHeader
from bot.imaging.dicom.render import Source
from bot.imaging.types import DecodedFile, ImagingOptions, Layout, PrivacyFlag


@dataclass(frozen=True)
class _Entry:
    """A DICOM entry with pixels, and its header; its data set is parsed again if chosen."""

    data: bytes
    header: DicomHeader


def decode_zip(data: bytes, *, options: ImagingOptions, allowance: Allowance) -> DecodedFile:
    """Decode the largest acquisition in a zip; `skipped_series` counts the other groups."""
    payloads = archive.dicom_entries(data, options=options)
    if not payloads:
        raise UnsupportedFileType(detail="zip without DICOM entries", kind="zip")
    groups = _group(_usable_entries(payloads, secret=options.key_secret, allowance=allowance))
    chosen = max(groups, key=_slice_count)  # max() keeps the first of equal groups
    skipped = len(groups) - 1
    if len(chosen) == 1:
        single = decode_dicom(chosen[0].data, options=options, allowance=allowance)
        return dataclasses.replace(single, source_format="zip", skipped_series=skipped)
    decoded = _decode_group(chosen, options=options, allowance=allowance)
    return dataclasses.replace(decoded, skipped_series=skipped)


def _usable_entries(
    payloads: Sequence[bytes], *, secret: bytes, allowance: Allowance
) -> list[_Entry]:
    """Entries that parse and hold pixels; raise the first problem when none does.

    A budget spent (a Deflated entry that inflates too far) ends the whole file.
    """
    entries: list[_Entry] = []
    first_error: ImagingError | None = None
    for payload in payloads:
        try:
            dataset = dicom.read_dataset(payload, allowance=allowance)
            header = dicom.describe(dataset, secret=secret)
        except DecodeBudgetExceeded:
            raise
        except ImagingError as exc:
            first_error = first_error or exc
            continue
        if header.has_pixels:  # skips DICOMDIR, reports and other image-less objects
            entries.append(_Entry(data=payload, header=header))
    if not entries:
        raise first_error or DicomNoPixelData(detail="zip holds no DICOM image")
    return entries


def _group(entries: Sequence[_Entry]) -> list[list[_Entry]]:
    """Single-frame entries grouped by acquisition; multi-frame entries stand alone."""
    single = [entry for entry in entries if entry.header.frames == 1]
    multi = [[entry] for entry in entries if entry.header.frames > 1]
    return [*acquisition.group(single, keys=_keys), *multi]


def _keys(entry: _Entry) -> Keys:
    """The grouping keys of one entry."""
    header = entry.header
    return Keys(
        stack=header.series_key, acquisition=header.acquisition_key, position=header.sort_key[1]
    )


def _slice_count(group: Sequence[_Entry]) -> int:
    """Slices in a group: files, or the frames of a lone multi-frame file."""
    return sum(entry.header.frames for entry in group)


def _decode_group(
    group: Sequence[_Entry], *, options: ImagingOptions, allowance: Allowance
) -> DecodedFile:
    """Sort one acquisition, sample it within the pixel budget, decode only the sampled files."""
    ordered = sorted(group, key=lambda entry: entry.header.sort_key)
    largest = max(entry.header.frame_pixels for entry in ordered)
    wanted = allowance.frames(min(len(ordered), options.max_slices), frame_pixels=largest)
    chosen = series.sample_indices(len(ordered), wanted)
    first = dicom.read_dataset(ordered[chosen[0]].data, allowance=allowance)
    modality = series.common_modality([entry.header.modality for entry in group])
    intensity = dicom_pixels.intensity_for(first, modality=modality)
    sources = [Source(load=_loader(entry, allowance=allowance)) for entry in ordered]
    images = dicom_render.render_set(
        sources, chosen, intensity=intensity, options=options, allowance=allowance
    )
    flags: frozenset[PrivacyFlag] = frozenset().union(*(e.header.privacy_flags for e in group))
    return series.make_set(
        images,
        layout=Layout.VOLUME if modality in CROSS_SECTIONAL else Layout.IMAGES,
        intensity=intensity,
        total=len(group),
        modality=modality,
        privacy_flags=flags,
        series_key=group[0].header.series_key,
        source_format="zip",
    )


def _loader(entry: _Entry, *, allowance: Allowance) -> dicom_render.Loader:
    """Parse an entry again when its pixels are needed (headers alone are kept)."""
    return lambda: dicom.read_dataset(entry.data, allowance=allowance)
