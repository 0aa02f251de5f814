"""DICOM whole-slide images (VL Whole Slide Microscopy, TILED_FULL) -> tissue patches at
about 10x, as the TIFF slides are, instead of sampled frames."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.imaging import Layout, Specialty, decode
from bot.imaging.budget import Allowance, DecodeBudget
from bot.imaging.types import PrivacyFlag
from tests.imaging import google_recipe as google
from tests.imaging.slides import dicom_wsi
from tests.imaging.slides import synthetic as slides

OPTIONS = slides.OPTIONS


@pytest.mark.parametrize(
    ("build", "worst", "average"),
    [
        ({"microns": 1.0, "jpeg": False}, 0, 0.0),  # 10x, uncompressed RGB tiles
        ({"microns": 0.5, "jpeg": False}, 0, 0.0),  # 20x: every patch region shrunk by 2
        ({"microns": 0.5}, 6, 1.5),  # JPEG baseline tiles (YBR_FULL_422), lossy
    ],
)
def test_each_patch_is_a_tissue_cell_at_10x(
    build: dict[str, Any], worst: int, average: float
) -> None:
    slide = dicom_wsi.build(**build)
    decoded = decode(slide.data, options=OPTIONS)
    assert decoded.layout is Layout.PATCHES and decoded.kind == "pathology"
    assert decoded.source_format == "dicom" and decoded.modality == "SM"
    assert decoded.specialty is Specialty.PATHOLOGIST
    assert decoded.microns_per_pixel == google.WSI_MICRONS_PER_PIXEL
    found = slides.matches(decoded, slide)
    assert sorted(key for key, _, _ in found) == sorted(slides.TISSUE_CELLS)
    assert max(m for _, m, _ in found) <= worst
    assert max(a for _, _, a in found) <= average


def test_without_a_pixel_spacing_the_magnification_is_an_estimate() -> None:
    decoded = decode(dicom_wsi.build(microns=0.25, spacing=False).data, options=OPTIONS)
    assert decoded.layout is Layout.PATCHES and decoded.microns_per_pixel is None


def test_patient_details_in_the_header_are_flagged() -> None:
    decoded = decode(dicom_wsi.build(patient="Doe^Jane").data, options=OPTIONS)
    assert decoded.layout is Layout.PATCHES
    assert PrivacyFlag.PATIENT_IDENTIFIERS in decoded.privacy_flags


def test_a_sparse_tiling_is_still_sent_as_frames() -> None:
    decoded = decode(dicom_wsi.build(organisation="TILED_SPARSE").data, options=OPTIONS)
    assert decoded.layout is not Layout.PATCHES


def test_patches_off_sends_frames() -> None:
    options = dataclasses.replace(OPTIONS, pathology_patches=0)
    decoded = decode(dicom_wsi.build().data, options=options)
    assert decoded.layout is not Layout.PATCHES


def test_only_the_patches_the_budget_pays_for_are_read() -> None:
    slide = dicom_wsi.build(microns=0.25, jpeg=False)  # 40x: each 10x patch is 512 x 512
    mosaic = (slide.truth.shape[0] * 4 // 8) * (slide.truth.shape[1] * 4 // 8)
    allowance = Allowance(DecodeBudget(file_pixels=mosaic + 2 * 512 * 512 + 10))
    decoded = decode(slide.data, options=OPTIONS, allowance=allowance)
    assert decoded.layout is Layout.PATCHES and len(decoded.images) == 2
    assert decoded.total_slices == len(slides.TISSUE_CELLS)
