"""Slices of one volume: order them, sample them evenly, label them "SLICE i"."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from bot.imaging import modality as modalities
from bot.imaging.types import DecodedFile, ImagingOptions, ModelImage, PrivacyFlag


def sample_indices(count: int, limit: int) -> list[int]:
    """At most `limit` evenly spaced indices into `count` items, first and last kept."""
    if count <= 0:
        return []
    if count <= limit:
        return list(range(count))
    if limit <= 1:
        return [0]
    spaced = np.rint(np.linspace(0, count - 1, limit)).astype(int)
    return [int(i) for i in np.unique(spaced)]


def make_series(
    images: Sequence[Image.Image],
    *,
    total: int,
    modality: str | None,
    privacy_flags: frozenset[PrivacyFlag],
    series_key: str | None,
    source_format: str = "dicom",
) -> DecodedFile:
    """A "series" DecodedFile whose images are labelled SLICE 1..n in order."""
    labelled = tuple(
        ModelImage(image=image, label=f"SLICE {number}")
        for number, image in enumerate(images, start=1)
    )
    return DecodedFile(
        kind="series",
        images=labelled,
        source_format=source_format,
        modality=modality,
        specialty=modalities.specialty_for(modality),
        total_slices=total,
        privacy_flags=privacy_flags,
        series_key=series_key,
    )


def common_modality(modalities_seen: Sequence[str | None]) -> str | None:
    """The modality shared by all slices, None when they differ."""
    distinct = set(modalities_seen)
    return distinct.pop() if len(distinct) == 1 else None


def assemble(files: Sequence[DecodedFile], *, options: ImagingOptions) -> list[DecodedFile]:
    """Merge single DICOM images of one series (two or more) into a series; keep the rest."""
    # A merged series takes the place of its first file; everything else keeps its order.
    groups: dict[str, list[DecodedFile]] = {}
    for file in files:
        if _is_slice(file) and file.series_key is not None:
            groups.setdefault(file.series_key, []).append(file)
    merged: dict[str, DecodedFile] = {
        key: _merge(members, options=options)
        for key, members in groups.items()
        if len(members) >= 2
    }
    result: list[DecodedFile] = []
    placed: set[str] = set()
    for file in files:
        key = file.series_key if _is_slice(file) else None
        if key is None or key not in merged:
            result.append(file)
        elif key not in placed:
            placed.add(key)
            result.append(merged[key])
    return result


def _is_slice(file: DecodedFile) -> bool:
    """A single-image DICOM file that may belong to a series."""
    return file.source_format == "dicom" and not file.is_series and len(file.images) == 1


def _merge(members: Sequence[DecodedFile], *, options: ImagingOptions) -> DecodedFile:
    """Sort the slices of one series, sample them and label them."""
    ordered = sorted(members, key=lambda file: file.sort_key)
    chosen = [ordered[i] for i in sample_indices(len(ordered), options.max_slices)]
    flags: frozenset[PrivacyFlag] = frozenset().union(*(file.privacy_flags for file in members))
    return make_series(
        [file.images[0].image for file in chosen],
        total=len(members),
        modality=common_modality([file.modality for file in members]),
        privacy_flags=flags,
        series_key=members[0].series_key,
    )
