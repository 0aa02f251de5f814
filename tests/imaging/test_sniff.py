"""Type detection by magic bytes."""

from __future__ import annotations

import pytest

from bot.errors import UnsupportedFileType
from bot.imaging import decode, sniff
from tests.imaging.helpers import DEFAULT, dicom_bytes, encode, sample, sample_dataset


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    """An ISO media 'ftyp' box with the given brands, then filler."""
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00" * 64


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "jpeg"),
        (b"GIF89a" + b"\x00" * 20, "gif"),
        (b"GIF87a" + b"\x00" * 20, "gif"),
        (b"BM" + b"\x00" * 12 + (40).to_bytes(4, "little") + b"\x00" * 20, "bmp"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "webp"),
        (b"II*\x00" + b"\x00" * 20, "tiff"),
        (b"MM\x00*" + b"\x00" * 20, "tiff"),
        (b"II+\x00" + b"\x00" * 20, "tiff"),
        (_ftyp(b"heic", b"mif1", b"heic"), "heic"),
        (_ftyp(b"mif1", b"mif1", b"heic"), "heic"),
        (_ftyp(b"avif", b"mif1", b"avif"), "avif"),
        (_ftyp(b"mif1", b"mif1", b"avif"), "avif"),
        (_ftyp(b"isom", b"isom", b"mp41"), "video"),
        (_ftyp(b"qt  ", b"qt  "), "video"),
        (_ftyp(b"mp42"), "video"),
        (_ftyp(b"M4A ", b"M4A "), "audio"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 20, "video"),
        (b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 20, "video"),
        (b"%PDF-1.7\n" + b"\x00" * 20, "pdf"),
        (b"PK\x03\x04" + b"\x00" * 20, "zip"),
        (b"\x1f\x8b\x08" + b"\x00" * 20, "gzip"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "html"),
        (b"\n\n   <!doctype HTML>\n<html>", "html"),
        (b"\xef\xbb\xbf<html lang='en'>", "html"),
        (b"  <HTML><head>", "html"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "svg"),
        (b"Patient is a 54 year old with cough.\nWhat do you see?\n", "text"),
        ("Größe: 12 mm, naïve".encode(), "text"),
        (b"BMI was 31, no images attached", "text"),
        (bytes(range(256)), "unknown"),
        (b"", "unknown"),
        (b"\x00\x00\x00\x00", "unknown"),
    ],
)
def test_magic_bytes(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small.dcm", "OT-PAL-8-face.dcm", "ExplVR_BigEndNoMeta.dcm"]
)
def test_dicom_with_and_without_preamble(name: str) -> None:
    assert sniff(sample(name)) == "dicom"


def test_dicom_written_without_preamble() -> None:
    data = dicom_bytes(sample_dataset("CT_small.dcm"), preamble=False)
    assert data[128:132] != b"DICM"
    assert sniff(data) == "dicom"


def test_html_prefix_cut_inside_a_character() -> None:
    """Callers sniff the first KiB of a download; the cut may split a UTF-8 character."""
    page = ("<!DOCTYPE html><html><title>Slack</title>" + "é" * 600).encode()
    assert sniff(page[:1024]) == "html" and sniff(page[:1023]) == "html"


def test_type_comes_from_bytes_not_from_a_name() -> None:
    """A PNG is a PNG whatever it was called; there is no name to pass at all."""
    png = encode(sample_dataset("CT_small.dcm").pixel_array.astype("uint8"), "PNG")
    assert sniff(png) == "png"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"just some notes about the case\n", "text"),
        (_ftyp(b"isom", b"isom", b"avc1"), "video"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 40, "video"),
        (b"<!DOCTYPE html><html></html>", "html"),
        (bytes(range(256)) * 4, "unknown"),
    ],
)
def test_unsupported_types_name_themselves(data: bytes, kind: str) -> None:
    with pytest.raises(UnsupportedFileType) as caught:
        decode(data, options=DEFAULT)
    assert caught.value.params["kind"] == kind
