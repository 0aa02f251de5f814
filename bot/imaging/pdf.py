"""PDF documents (lab reports, letters, discharge summaries) -> one image per page.

PDFium (through pypdfium2) renders each page at the scale that gives its long side
the model's 896 px (about 77 DPI for A4), so no page is rendered larger than the
model sees it. Before any page is rendered the pages are counted (at most
`max_pages`, the first ones) and each page's pixel size is checked against the cap and
charged to the file's budget. The text layer of each rendered page is kept with the
images (never logged): it is what the patient-identifier check searches and what the
values a model reads are checked against.
"""

from __future__ import annotations

import math
import threading

import pypdfium2 as pdfium
from PIL import Image

from bot.errors import CorruptImage, ImageTooLarge
from bot.imaging import geometry
from bot.imaging.budget import Allowance
from bot.imaging.identifiers import has_identifiers
from bot.imaging.types import DecodedFile, ImagingOptions, Layout, ModelImage, PrivacyFlag

# A page's text kept for the checks: a real page holds a few thousand characters; a
# hostile one may claim millions.
MAX_PAGE_TEXT = 100_000
# PDF's own limit on a page side (ISO 32000: 14,400 units); larger claims are damage.
_MAX_SIDE_POINTS = 14_400.0
# PDFium is not thread-safe, and decode() may run in several threads of one process.
_PDFIUM = threading.Lock()


def decode_pdf(data: bytes, *, options: ImagingOptions, allowance: Allowance) -> DecodedFile:
    """The document's first pages as labelled model images, with their text layer."""
    with _PDFIUM:
        total, pages = _pages(data, options=options, allowance=allowance)
    texts = tuple(text for _, text in pages)
    flags = {PrivacyFlag.DOCUMENT_IDENTIFIERS} if has_identifiers(texts) else set()
    return DecodedFile(
        kind="document",
        images=tuple(
            ModelImage(image=geometry.fit(image, options=options), label=f"PAGE {n}")
            for n, (image, _) in enumerate(pages, start=1)
        ),
        source_format="pdf",
        total_slices=total,
        privacy_flags=frozenset(flags),
        layout=Layout.PAGES,
        text_layer=texts,
    )


def _pages(
    data: bytes, *, options: ImagingOptions, allowance: Allowance
) -> tuple[int, list[tuple[Image.Image, str]]]:
    """The page count, and the first `max_pages` pages rendered with their text."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # Damaged files and password-protected ones alike: nothing can be read.
        raise CorruptImage(detail="PDFium could not open the PDF") from exc
    try:
        total = len(document)
        if total < 1:
            raise CorruptImage(detail="a PDF without pages")
        pages = [
            _render(document[i], options=options, allowance=allowance)
            for i in range(min(total, options.max_pages))
        ]
    finally:
        document.close()
    return total, pages


def _render(
    page: pdfium.PdfPage, *, options: ImagingOptions, allowance: Allowance
) -> tuple[Image.Image, str]:
    """One page rendered to fit the model's side, and its text (checked and charged first)."""
    try:
        width, height = page.get_size()
        if not (0 < width <= _MAX_SIDE_POINTS and 0 < height <= _MAX_SIDE_POINTS):
            raise CorruptImage(detail="a PDF page without a usable size")
        scale = options.model_side / max(width, height)
        pixels = math.ceil(width * scale) * math.ceil(height * scale)
        if pixels > geometry.pixel_cap(options):
            raise ImageTooLarge(detail="a PDF page exceeds the pixel cap")
        allowance.spend(pixels)
        image = page.render(scale=scale, may_draw_forms=False).to_pil().convert("RGB")
        return image, _text(page)
    finally:
        page.close()


def _text(page: pdfium.PdfPage) -> str:
    """The page's text layer ("" for a scanned page), at most MAX_PAGE_TEXT characters."""
    textpage = page.get_textpage()
    try:
        # A count past the page's characters reads beyond them: never ask for more.
        count = min(textpage.count_chars(), MAX_PAGE_TEXT)
        return str(textpage.get_text_range(count=count)) if count > 0 else ""
    finally:
        textpage.close()
