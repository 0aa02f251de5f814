"""PDF documents: pages rendered to the model's side, counted and charged before rendering."""

from __future__ import annotations

import numpy as np
import pytest

from bot.errors import CorruptImage, DecodeBudgetExceeded
from bot.imaging import decode
from bot.imaging.budget import Allowance, DecodeBudget
from bot.imaging.types import Layout, PrivacyFlag
from tests.imaging.helpers import DEFAULT, options
from tests.imaging.pdfs import LAB_LINES, PATIENT_LINES, pdf


def test_each_page_becomes_a_labelled_model_image_with_its_text() -> None:
    decoded = decode(pdf([LAB_LINES, ["Page two", "Sodium 140 mmol/L"]]), options=DEFAULT)
    assert decoded.kind == "document" and decoded.source_format == "pdf"
    assert decoded.layout is Layout.PAGES and decoded.is_image_set
    assert [m.label for m in decoded.images] == ["PAGE 1", "PAGE 2"]
    assert all(m.image.size == (896, 896) and m.image.mode == "RGB" for m in decoded.images)
    assert "Haemoglobin 13.2 g/dL" in decoded.text_layer[0]
    assert "Sodium 140" in decoded.text_layer[1]
    assert decoded.total_slices == 2 and not decoded.privacy_flags


def test_a_page_is_rendered_at_the_model_side_not_upscaled_afterwards() -> None:
    # A4 (595 x 842 pt) at 896 px tall: about 77 DPI; the drawn box and text are there.
    decoded = decode(pdf([LAB_LINES]), options=options(pad_to_square=False))
    page = np.asarray(decoded.images[0].image)
    assert page.shape == (896, 634, 3)
    assert page.min() < 60 and page.max() == 255  # dark text and box on white


def test_only_the_first_pages_up_to_the_cap_are_rendered() -> None:
    pages = [[f"Page {n}"] for n in range(1, 13)]
    decoded = decode(pdf(pages), options=options(max_pages=3))
    assert [m.label for m in decoded.images] == ["PAGE 1", "PAGE 2", "PAGE 3"]
    assert decoded.total_slices == 12 and len(decoded.text_layer) == 3


def test_pages_are_charged_to_the_budget_before_rendering() -> None:
    allowance = Allowance(DecodeBudget(file_pixels=896 * 700))
    with pytest.raises(DecodeBudgetExceeded):
        decode(pdf([["one"], ["two"]]), options=DEFAULT, allowance=allowance)
    assert allowance.pixels_spent == 896 * 634  # the first page only


def test_patient_identifier_labels_in_the_text_flag_the_document() -> None:
    decoded = decode(pdf([LAB_LINES, PATIENT_LINES]), options=DEFAULT)
    assert PrivacyFlag.DOCUMENT_IDENTIFIERS in decoded.privacy_flags


@pytest.mark.parametrize(
    "line",
    ["Patient Name: X", "D.O.B. 1970", "Geburtsdatum: 1.1.1970", "Fecha de nacimiento: 1970"],
)
def test_identifier_labels_in_other_languages_are_found(line: str) -> None:
    decoded = decode(pdf([[line]]), options=DEFAULT)
    assert PrivacyFlag.DOCUMENT_IDENTIFIERS in decoded.privacy_flags


def test_the_text_layer_never_shows_in_the_repr() -> None:
    decoded = decode(pdf([PATIENT_LINES]), options=DEFAULT)
    assert "Jane" not in repr(decoded)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n",
        pdf([["x"]])[:200],
        pdf([]),
        pdf([["x"]], size=(100_000, 10)),
    ],
)
def test_damaged_pdfs_are_refused_as_damaged(data: bytes) -> None:
    with pytest.raises(CorruptImage):
        decode(data, options=DEFAULT)
