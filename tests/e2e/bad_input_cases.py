"""Forty-odd kinds of bad or awkward input, as an attacker or a tired resident sends them.

`CASES` are the kinds; `ATTACKS` the files of issue 18 that cost a decoder dearly (a
deflate bomb, also in a zip; a 16-bit PNG just under the pixel cap; JPEG 2000 frame
bombs), each to be held to its decode budget. Shared by tests/e2e/test_bad_input_kinds.py
and bench/bad_input_memory.py.
"""

from __future__ import annotations

import copy
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import UID

from tests.e2e.harness import Harness, is_sheet, png_bytes
from tests.fakes.slack import FakeSlack
from tests.imaging import attacks
from tests.imaging.helpers import ct_slices, dicom_bytes, encode, sample, sample_dataset


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def bomb_png() -> bytes:
    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    idat = png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + idat + png_chunk(b"IEND", b"")


def zipped(entries: dict[str, bytes], **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, **kwargs) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def encrypted_zip() -> bytes:
    data = bytearray(zipped({"a.dcm": sample("CT_small.dcm")}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the flag bit
        at = data.find(signature)
        data[at + offset] |= 0x1
    return bytes(data)


def dicom_with(**changes: Any) -> bytes:
    ds = copy.deepcopy(sample_dataset("CT_small.dcm"))
    for name, value in changes.items():
        if value is None:
            delattr(ds, name)
        else:
            setattr(ds, name, value)
    return dicom_bytes(ds)


def dicom_unknown_syntax() -> bytes:
    ds = sample_dataset("CT_small.dcm")
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")  # MPEG2: no decoder
    ds.PixelData = encapsulate([ds.PixelData])
    ds["PixelData"].VR = "OB"
    return dicom_bytes(ds)


def image(size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG", **params: Any) -> bytes:
    array = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    picture = Image.fromarray(array).convert(mode)
    return encode(picture, fmt, **params)


def animated_gif() -> bytes:
    frames = [Image.new("P", (40, 40), i * 40) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def heic() -> bytes:
    from pillow_heif import from_pillow

    buffer = io.BytesIO()
    from_pillow(Image.new("RGB", (64, 48), (10, 90, 200))).save(buffer, format="HEIF")
    return buffer.getvalue()


@dataclass(frozen=True)
class Case:
    """One input: what is uploaded and said, and what the single reply must be."""

    name: str
    files: list[bytes | dict[str, Any]] = field(default_factory=list)
    text: str = "what is this?"
    says: str | None = None  # a notice containing this; None: an answer
    images: int | None = None  # images the model saw (answers)
    note: str | None = None  # a note the answer carries
    host: Callable[[FakeSlack, dict[str, Any]], None] | None = None  # changes the file host
    env: dict[str, str] = field(default_factory=dict)  # settings of the bot for this case


def lie(size: int) -> Callable[[FakeSlack, dict[str, Any]], None]:
    def change(fake: FakeSlack, file: dict[str, Any]) -> None:
        fake.files[file["id"]].info["size"] = size
        file["size"] = size  # the message's copy says so too

    return change


def gone(fake: FakeSlack, file: dict[str, Any]) -> None:
    del fake.files[file["id"]]  # the host answers 404


def login(fake: FakeSlack, file: dict[str, Any]) -> None:
    fake.files[file["id"]].html_login = True


def slow(fake: FakeSlack, file: dict[str, Any]) -> None:
    fake.files[file["id"]].chunk_delay = 1.0
    fake.files[file["id"]].chunk_size = 16


GOOD = png_bytes((64, 48))
CORRUPT = "damaged or incomplete"
UNSUPPORTED = "I can't read"
UNSAFE = "can't open this zip file safely"
TOO_BIG = "too many pixels"
BUDGET = "more memory or time than I allow"
DRIVE = {"id": "F0DRIVE", "mode": "external", "external_type": "gdrive", "name": "scan"}

CASES = [
    # Empty and tiny
    Case("empty file", [b""], says=UNSUPPORTED),
    Case("one byte", [b"\x89"], says=UNSUPPORTED),
    Case("png signature only", [b"\x89PNG\r\n\x1a\n"], says=CORRUPT),
    Case("truncated png", [GOOD[: len(GOOD) // 2]], says=CORRUPT),
    Case("truncated jpeg", [image((300, 300), fmt="JPEG")[:400]], says=CORRUPT),
    Case("png with a broken header crc", [GOOD[:29] + b"\0\0\0\0" + GOOD[33:]], says=CORRUPT),
    # Valid but awkward: answered
    Case("1x1 pixel", [image((1, 1))], images=1),
    Case("extreme aspect ratio", [image((4000, 3))], images=1),
    Case("tall and thin", [image((2, 3000))], images=1),
    Case("16-bit grey png", [encode(np.full((40, 40), 40_000, np.uint16), "PNG")], images=1),
    Case("fully transparent png", [image((40, 40), mode="RGBA")], images=1),
    Case("animated gif", [animated_gif()], images=1),
    Case("cmyk jpeg", [image((60, 40), mode="CMYK", fmt="JPEG")], images=1),
    Case("heic from a phone", [heic()], images=1),
    Case("bmp", [image((30, 30), fmt="BMP")], images=1),
    Case("webp", [image((30, 30), fmt="WEBP")], images=1),
    Case("multi-page tiff", [image((50, 50), fmt="TIFF", save_all=True)], images=1),
    Case("emoji, right-to-left and zero-width text", [GOOD], text="؟ما هذا 🫁\u200b", images=1),
    # Too much
    Case("decompression bomb", [bomb_png()], says=TOO_BIG),
    Case("huge dicom rows and columns", [dicom_with(Rows=60_000, Columns=60_000)], says=TOO_BIG),
    Case("nine images", [GOOD] * 9, images=8, note="Only the first 8 of 9 images"),
    Case(
        "question far longer than the context",
        [GOOD],
        text="why? " * 40_000,
        says="too long for the model",
    ),
    # Not images
    Case("damaged pdf", [b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"], says=CORRUPT),
    Case("text named like an image", [b"hello, this is not a png"], says=UNSUPPORTED),
    Case("mp4 video", [b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom" + bytes(64)], says=UNSUPPORTED),
    # Archives
    Case("empty zip", [zipped({})], says=UNSUPPORTED),
    Case("zip without dicom", [zipped({"notes.txt": b"hello"})], says=UNSUPPORTED),
    Case(
        "zip in a zip",
        [zipped({"inner.zip": zipped({"a.dcm": sample("CT_small.dcm")})})],
        says=UNSAFE,
    ),
    Case("zip bomb", [zipped({"a.dcm": b"DICM" + bytes(30_000_000)})], says=UNSAFE),
    Case(
        "zip with a parent path", [zipped({"../../etc/a.dcm": sample("CT_small.dcm")})], says=UNSAFE
    ),
    Case("encrypted zip", [encrypted_zip()], says=UNSAFE),
    Case("truncated zip", [zipped({"a.dcm": sample("CT_small.dcm")})[:300]], says=CORRUPT),
    # DICOM
    Case("dicom without pixels", [dicom_with(PixelData=None)], says="no image in it"),
    Case("dicom header garbage", [bytes(128) + b"DICM" + b"\xff" * 300], says="no image in it"),
    Case("dicom lies about frames", [dicom_with(NumberOfFrames=40)], says=CORRUPT),
    Case("dicom with an unknown compression", [dicom_unknown_syntax()], says="compression"),
    Case("dicom pixel data cut short", [sample("CT_small.dcm")[:-9000]], says=CORRUPT),
    # Downloads
    Case("file gone from the host", [GOOD], host=gone, says="could not download"),
    Case("sign-in page instead of the file", [GOOD], host=login, says="files:read"),
    Case("size declared over the cap", [GOOD], host=lie(60 * 2**20), says="larger than my limit"),
    Case("download that never ends", [GOOD], host=slow, says="could not download"),
    Case("a drive link only", [DRIVE], text="", says="upload the image itself"),
    # Messages
    Case("a bare mention", [], text="", says="Here is how to ask"),  # help, not an error
    # Some files readable, some not: answered about the good ones, the others named
    Case(
        "good, broken, good",
        [GOOD, GOOD[:50], png_bytes((20, 20))],
        images=2,
        note="file(s) 2 could not be read",
    ),
    Case(
        "a series with one broken slice",
        [*ct_slices(3)[:2], b"DICM broken"],
        images=2,
        note="file(s) 3 could not be read",
    ),
]


ATTACKS = [
    Case("deflate bomb dicom", [attacks.deflate_bomb()], says=BUDGET),
    Case("deflate bomb dicom stored in a zip", [attacks.deflate_bomb_zip()], says=BUDGET),
    Case("16-bit png just under the pixel cap", [attacks.deep_png()], images=1),
    # Within the shipped 200 MP a bomb decodes 5 of its 300 frames, some seconds of work:
    # a 2 s deadline makes the refusal certain and quick.
    Case(
        "two jpeg 2000 frame bombs",
        [attacks.frame_bomb(), attacks.frame_bomb()],
        says=BUDGET,
        env={"MEDGEMMA_DECODE_TIMEOUT_S": "2"},
    ),
]


def upload(fake: FakeSlack, item: bytes | dict[str, Any], n: int) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    return fake.add_file(item, name=f"file{n}.bin", mimetype="image/png", filetype="png")


async def ask_case(h: Harness, case: Case) -> dict[str, Any]:
    files = [upload(h.fake, item, n) for n, item in enumerate(case.files)]
    if case.host is not None:
        case.host(h.fake, files[0])
    ts = await h.ask(case.text, files=files or None)
    # An answer about DICOM files may be followed by its contact sheet (an upload).
    replies = [r for r in await h.replies(ts) if not is_sheet(r)]
    assert len(replies) == 1, f"{case.name}: {len(replies)} replies"
    return replies[0]
