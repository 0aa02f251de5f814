"""Images that belong together: order them, sample them evenly, label them ("SLICE i", ...)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from bot.imaging.dicom import acquisition
from bot.imaging.dicom import modality as modalities
from bot.imaging.dicom import render as dicom_render
from bot.imaging.dicom.acquisition import Keys
from bot.imaging.dicom.layout import CROSS_SECTIONAL
from bot.imaging.types import (
    DecodedFile,
    ImagingOptions,
    Intensity,
    Layout,
    ModelImage,
    PrivacyFlag,
)

_LABELS = {
    Layout.VOLUME: "SLICE",
    Layout.CINE: "FRAME",
    Layout.FRAMES: "FRAME",
    Layout.DOSE: "PLANE",
    Layout.IMAGES: "IMAGE",
}


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


def make_set(
    images: Sequence[Image.Image],
    *,
    layout: Layout,
    intensity: Intensity,
    total: int,
    modality: str | None,
    privacy_flags: frozenset[PrivacyFlag],
    series_key: str | None,
    source_format: str = "dicom",
) -> DecodedFile:
    """A DecodedFile of images in order, labelled for their layout ("SLICE 1", "FRAME 1", ...)."""
    word = _LABELS[layout]
    labelled = tuple(
        ModelImage(image=image, label=f"{word} {number}")
        for number, image in enumerate(images, start=1)
    )
    return DecodedFile(
        kind=_kind(layout, modality),
        images=labelled,
        source_format=source_format,
        modality=modality,
        specialty=modalities.specialty_for(modality),
        total_slices=total,
        privacy_flags=privacy_flags,
        series_key=series_key,
        layout=layout,
        intensity=intensity,
    )


def _kind(layout: Layout, modality: str | None) -> str:
    """ "series" for volumes, "frames" for frame sets, the modality's kind for separate images."""
    if layout is Layout.VOLUME:
        return "series"
    return modalities.kind_for(modality) if layout is Layout.IMAGES else "frames"


def common_modality(modalities_seen: Sequence[str | None]) -> str | None:
    """The modality shared by all slices, None when they differ."""
    distinct = set(modalities_seen)
    return distinct.pop() if len(distinct) == 1 else None


def assemble(files: Sequence[DecodedFile], *, options: ImagingOptions) -> list[DecodedFile]:
    """Merge single CT/MR/PET slices of one acquisition (two or more) into a volume."""
    # A merged volume takes the place of its first file; everything else keeps its order.
    candidates = [file for file in files if _is_slice(file)]
    merged: dict[int, DecodedFile] = {}
    absorbed: set[int] = set()
    for members in acquisition.group(candidates, keys=_keys):
        if len(members) >= 2:
            merged[id(members[0])] = _merge(members, options=options)
            absorbed.update(id(member) for member in members)
    result: list[DecodedFile] = []
    for file in files:
        if id(file) in merged:
            result.append(merged[id(file)])
        elif id(file) not in absorbed:
            result.append(file)
    return result


def _is_slice(file: DecodedFile) -> bool:
    """A single-image cross-sectional DICOM file that may belong to a volume."""
    return (
        file.source_format == "dicom"
        and file.layout is Layout.SINGLE
        and len(file.images) == 1
        and file.modality in CROSS_SECTIONAL
        and file.series_key is not None
    )


def _keys(file: DecodedFile) -> Keys:
    """The grouping keys a decoded slice carries."""
    position = file.sort_key[1] if len(file.sort_key) > 1 else float("inf")
    return Keys(stack=file.series_key, acquisition=file.acquisition_key, position=position)


def _merge(members: Sequence[DecodedFile], *, options: ImagingOptions) -> DecodedFile:
    """Sort the slices of one acquisition, sample them, and give them one intensity mapping."""
    ordered = sorted(members, key=lambda file: file.sort_key)
    chosen = [ordered[i] for i in sample_indices(len(ordered), options.max_slices)]
    flags: frozenset[PrivacyFlag] = frozenset().union(*(file.privacy_flags for file in members))
    intensity = members[0].intensity
    images = [file.images[0].image for file in chosen]
    greys = [file.grey for file in members]
    if intensity is Intensity.MIN_MAX and all(grey is not None for grey in greys):
        # Each file was mapped on its own range; map again with the acquisition's.
        shared = (min(g.low for g in greys if g), max(g.high for g in greys if g))
        images = [
            dicom_render.from_grey(file.grey, shared=shared, options=options)
            for file in chosen
            if file.grey is not None
        ]
    return make_set(
        images,
        layout=Layout.VOLUME,
        intensity=intensity,
        total=len(members),
        modality=common_modality([file.modality for file in members]),
        privacy_flags=flags,
        series_key=members[0].series_key,
    )
