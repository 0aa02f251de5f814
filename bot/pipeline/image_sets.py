"""Sets of images from one file (a volume, a cine, slide patches): words and thinning.

Pure. The instruction before a set says truthfully what it is, from what the imaging
package found (`layout`, `intensity`, `modality`): a CT volume in Google's three
windows, an MR volume on one scale, ultrasound frames over time, random tissue patches.
A set too large for the model's context is thinned: ordered sets keep evenly spaced
images (relabelled in order), unordered patches keep the first ones (a random sample
still).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from bot.imaging.series import sample_indices
from bot.imaging.types import DecodedFile, Intensity, Layout, ModelImage

Note = tuple[str, dict[str, object]]

_KEYS = {
    Layout.CINE: "cine",
    Layout.DOSE: "dose",
    Layout.FRAMES: "frames",
    Layout.IMAGES: "images",
    Layout.PATCHES: "patches",
    Layout.PAGES: "pages",
}


def instruction_key(file: DecodedFile) -> str:
    """Which instruction of bot/prompts/image_sets.toml describes this set."""
    if file.layout in _KEYS:
        return _KEYS[file.layout]
    if file.intensity is Intensity.CT_WINDOWS:
        return "ct_volume"
    if file.modality == "MR":
        return "mr_volume"
    return "volume"


def instruction(file: DecodedFile, templates: Mapping[str, str]) -> str:
    """The text sent before the set's images."""
    template = templates[instruction_key(file)]
    magnification = "about 10x" if file.microns_per_pixel else "an estimated 10x"
    return template.format(
        count=len(file.images),
        total=file.total_slices,
        modality=file.modality or "imaging",
        magnification=magnification,
    )


def thin(file: DecodedFile, count: int) -> DecodedFile:
    """The set with at most `count` images: evenly spaced, or the first patches."""
    if count >= len(file.images):
        return file
    if file.layout is Layout.PATCHES:
        return dataclasses.replace(file, images=file.images[: max(1, count)])
    chosen = [file.images[i] for i in sample_indices(len(file.images), max(1, count))]
    prefix = (chosen[0].label or "SLICE 1").rsplit(" ", 1)[0]
    relabelled = tuple(
        ModelImage(image=m.image, label=f"{prefix} {n}" if m.label else None)
        for n, m in enumerate(chosen, start=1)
    )
    return dataclasses.replace(file, images=relabelled)


def used_note(file: DecodedFile) -> Note:
    """The note saying how much of the set the model saw."""
    if file.layout is Layout.PATCHES:
        key = "patches_used" if file.microns_per_pixel else "patches_used_estimated"
        return (key, {"used": len(file.images)})
    if file.layout is Layout.PAGES:
        return ("pages_used", {"used": len(file.images), "total": file.total_slices})
    if file.layout in (Layout.CINE, Layout.FRAMES, Layout.DOSE):
        return ("frames_used", {"used": len(file.images), "total": file.total_slices})
    return ("slices_used", {"used": len(file.images), "total": file.total_slices})
