"""Values that leave the imaging package: model-ready images and safe metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from PIL import Image

from bot.specialty import Specialty

__all__ = ["DecodedFile", "ImagingOptions", "ModelImage", "PrivacyFlag", "Specialty"]


class PrivacyFlag(StrEnum):
    """Reasons to suggest removing a shared file from Slack (never the values themselves)."""

    PATIENT_IDENTIFIERS = "patient_identifiers"
    BURNED_IN_ANNOTATION = "burned_in_annotation"


@dataclass(frozen=True)
class ImagingOptions:
    """Knobs of the image pipeline; the first four come from settings (their defaults too)."""

    max_pixels: int  # per decoded frame; guards against decompression bombs
    pad_to_square: bool  # as Google's notebooks do before the processor
    max_slices: int  # per CT/MRI series, sampled evenly
    pathology_tiles: int  # >1 splits a large slide image into up to this many tiles
    model_side: int = 896  # MedGemma's input side; larger images are downsampled to it
    zip_max_entries: int = 2000
    zip_max_total_bytes: int = 1_000_000_000


@dataclass(frozen=True, eq=False)
class ModelImage:
    """One RGB image ready for the model; `label` is text sent after it (e.g. "SLICE 3")."""

    image: Image.Image
    label: str | None = None


@dataclass(frozen=True, eq=False)
class DecodedFile:
    """What one shared file (or one assembled series) becomes.

    Everything here is safe to log except `images`; nothing carries DICOM header values.
    """

    kind: str  # "photo", "radiograph", "ct", "mri", "dicom", "pathology", "series"
    images: tuple[ModelImage, ...]
    source_format: str  # "png", "jpeg", "dicom", "zip", ...
    modality: str | None = None  # DICOM modality code ("CT", "MR", "CR", "DX", ...)
    specialty: Specialty | None = None  # a hint from the content, None when unknown
    total_slices: int = 1  # slices or frames before sampling (series)
    privacy_flags: frozenset[PrivacyFlag] = field(default_factory=frozenset)
    # For DICOM single images: an opaque grouping key (a hash, never the UID) and sort key,
    # so several files shared in one message can be assembled into a series.
    series_key: str | None = None
    sort_key: tuple[float, ...] = ()
    # For a zip holding several series: how many were left out (the largest one is used).
    skipped_series: int = 0

    @property
    def is_series(self) -> bool:
        """True when the images are slices of one volume."""
        return self.kind == "series"

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the images, for the cache's byte cap."""
        return sum(len(m.image.getbands()) * m.image.width * m.image.height for m in self.images)
