"""Values that leave the imaging package: model-ready images and safe metadata."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from PIL import Image

from bot.imaging.budget import DecodeBudget
from bot.specialty import Specialty

__all__ = [
    "DecodedFile",
    "GreyValues",
    "ImagingOptions",
    "Intensity",
    "Layout",
    "ModelImage",
    "PrivacyFlag",
    "Specialty",
]


class PrivacyFlag(StrEnum):
    """Reasons to suggest removing a shared file from Slack (never the values themselves)."""

    PATIENT_IDENTIFIERS = "patient_identifiers"
    BURNED_IN_ANNOTATION = "burned_in_annotation"
    DOCUMENT_IDENTIFIERS = "document_identifiers"  # labels such as "Name:" in a PDF's text


class Layout(StrEnum):
    """How the images of one DecodedFile relate to each other: what an instruction may claim."""

    SINGLE = "single"  # one image
    IMAGES = "images"  # separate images of one series (views, not a volume), "IMAGE i"
    VOLUME = "volume"  # slices of one anatomical volume in spatial order, "SLICE i"
    CINE = "cine"  # frames over time in acquisition order (ultrasound, angiography), "FRAME i"
    DOSE = "dose"  # planes of an RT dose grid: computed dose, not anatomy, "PLANE i"
    FRAMES = "frames"  # other multi-frame objects, in file order, "FRAME i"
    TILES = "tiles"  # one image cut into a labelled grid ("TILE 2 of 4 (top right)")
    PATCHES = "patches"  # random tissue patches of one slide at about 10x; no order, no labels
    PAGES = "pages"  # the first pages of one document (a PDF), in order, "PAGE i"


class Intensity(StrEnum):
    """How stored values became 8-bit pixels, so the instruction can say what brightness means."""

    CT_WINDOWS = "ct_windows"  # R, G, B = HU windows -1024..1024, -135..215, 0..80 (Google)
    MIN_MAX = "min_max"  # one linear map of the whole acquisition's (or image's) range to 0-255
    FILE_WINDOW = "file_window"  # the file's own VOI window (per frame), 8 bits, no stretch
    FILE_LUT = "file_lut"  # the file's VOI lookup table, its output range stretched to 0-255
    COLOUR = "colour"  # stored colour (RGB, YBR, palette, photos, slides) as is


@dataclass(frozen=True)
class ImagingOptions:
    """Knobs of the image pipeline; the first five come from settings (their defaults too)."""

    max_pixels: int  # per decoded frame; guards against decompression bombs
    pad_to_square: bool  # as Google's notebooks do before the processor
    max_slices: int  # per CT/MRI series, sampled evenly
    pathology_tiles: int  # >1 tiles a large image that gets no slide patches (photo, small slide)
    pathology_patches: int  # >0: a whole slide becomes up to this many 10x tissue patches
    model_side: int = 896  # MedGemma's input side; larger images are downsampled to it
    max_pages: int = 8  # a PDF's first pages rendered (MEDGEMMA_PDF_MAX_PAGES)
    zip_max_entries: int = 2000
    zip_max_total_bytes: int = 1_000_000_000
    # What one file may cost; the file loader's comes from settings.
    budget: DecodeBudget = field(default_factory=DecodeBudget)
    # Keys the opaque DICOM grouping keys: files decoded with the same options (in any
    # process) group together; a fresh secret per options makes them useless outside.
    key_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)


@dataclass(frozen=True, eq=False)
class ModelImage:
    """One RGB image ready for the model; `label` is text sent after it (e.g. "SLICE 3")."""

    image: Image.Image
    label: str | None = None


@dataclass(frozen=True, eq=False)
class GreyValues:
    """A grey slice before its 8-bit mapping, so slices shared one by one can share one map.

    `values` are modality values (after the rescale) shrunk like the model image but not
    padded; `low` and `high` are the slice's own extremes at full resolution.
    """

    values: npt.NDArray[np.float32]
    low: float
    high: float
    monochrome1: bool = False


@dataclass(frozen=True, eq=False)
class DecodedFile:
    """What one shared file (or one assembled series) becomes.

    Everything here is safe to log except `images` and `grey`; nothing carries DICOM header
    values. `layout` says how the images relate (a volume, frames over time, slide patches,
    ...) and `intensity` how brightness was mapped: together they are what a truthful
    instruction needs. A caller budgets every `is_image_set` file like a series.
    """

    kind: str  # "photo", "radiograph", "ct", "mri", "dicom", "pathology", "series", "document"...
    images: tuple[ModelImage, ...]
    source_format: str  # "png", "jpeg", "dicom", "zip", ...
    modality: str | None = None  # DICOM modality code ("CT", "MR", "CR", "DX", ...)
    specialty: Specialty | None = None  # a hint from the content, None when unknown
    total_slices: int = 1  # slices, frames or tissue patches available before sampling
    privacy_flags: frozenset[PrivacyFlag] = field(default_factory=frozenset)
    # For DICOM single images: opaque grouping keys (hashes, never UIDs) and a sort key, so
    # several files shared in one message can be assembled. `series_key` groups one stack
    # (series, SOP class, image type, orientation, ...); `acquisition_key` adds the
    # acquisition number, to split repeated acquisitions of the same positions.
    series_key: str | None = None
    sort_key: tuple[float, ...] = ()
    acquisition_key: str | None = None
    # For a zip holding several series or acquisitions: how many were left out.
    skipped_series: int = 0
    layout: Layout = Layout.SINGLE
    intensity: Intensity = Intensity.COLOUR
    # For slide patches: micrometres per pixel of the patches as the file states its
    # resolution (about 1.0, i.e. 10x); None when the file states none (then level 0 is
    # taken to be 0.25 um/px, a 40x scan, and the magnification is a guess).
    microns_per_pixel: float | None = None
    grey: GreyValues | None = field(default=None, repr=False)
    # For a single DICOM image: its study (or acquisition) date as YYYYMMDD, so a prior
    # film can be told from a current one. A header value: kept in memory, never logged.
    taken: str | None = field(default=None, repr=False)
    # For a PDF: the text layer of each rendered page ("" for a scanned one), to check
    # what the model read against. The document's own words: kept in memory, never logged.
    text_layer: tuple[str, ...] = field(default=(), repr=False)

    @property
    def is_series(self) -> bool:
        """True when the images are slices of one volume (kind "series", layout VOLUME)."""
        return self.kind == "series"

    @property
    def is_image_set(self) -> bool:
        """True for images sampled as one set (volume, frames, patches): budget like a series."""
        return self.is_series or self.layout in _IMAGE_SETS

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the images (and grey values), for the cache's byte cap."""
        images = sum(len(m.image.getbands()) * m.image.width * m.image.height for m in self.images)
        return images + (self.grey.values.nbytes if self.grey is not None else 0)


_IMAGE_SETS = frozenset(
    {
        Layout.VOLUME,
        Layout.CINE,
        Layout.DOSE,
        Layout.FRAMES,
        Layout.IMAGES,
        Layout.PATCHES,
        Layout.PAGES,
    }
)
