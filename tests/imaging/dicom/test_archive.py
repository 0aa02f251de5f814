"""Zipped DICOM series and the zip guard."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from bot.errors import CorruptImage, DicomNoPixelData, UnsafeArchive, UnsupportedFileType
from bot.imaging import decode
from bot.imaging.dicom import archive
from tests.imaging.helpers import DEFAULT, ct_slices, encode, options, sample


def _zip(entries: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


def _series_zip(count: int, *, uid: str = "1.2.3.4.5", prefix: str = "IMG") -> dict[str, bytes]:
    return {f"study/{prefix}{i:04d}": data for i, data in enumerate(ct_slices(count, uid=uid))}


def test_zip_of_a_series() -> None:
    entries = {
        **_series_zip(9),
        "DICOMDIR": sample("rtplan.dcm"),  # DICOM without pixels, like a DICOMDIR
        "README.txt": b"exported by a viewer\n",
        "__MACOSX/study/._IMG0000": b"\x00\x05\x16\x07 resource fork",
        "study/": b"",
    }
    decoded = decode(_zip(entries), options=DEFAULT)
    assert decoded.is_series and decoded.source_format == "zip"
    assert decoded.total_slices == 9 and len(decoded.images) == 9
    assert decoded.modality == "CT" and decoded.skipped_series == 0
    means = [float(np.asarray(image.image).mean()) for image in decoded.images]
    assert means == sorted(means)


def test_zip_series_is_sampled() -> None:
    decoded = decode(_zip(_series_zip(30)), options=options(max_slices=5))
    assert decoded.total_slices == 30 and len(decoded.images) == 5
    assert [image.label for image in decoded.images][-1] == "SLICE 5"


def test_zip_with_several_series_uses_the_largest() -> None:
    entries = {
        **_series_zip(3, uid="1.2.3.1", prefix="A"),
        **_series_zip(5, uid="1.2.3.2", prefix="B"),
    }
    decoded = decode(_zip(entries), options=DEFAULT)
    assert decoded.total_slices == 5 and decoded.skipped_series == 1


def test_zip_with_one_image() -> None:
    decoded = decode(_zip({"x.dcm": sample("MR_small.dcm")}), options=DEFAULT)
    assert decoded.kind == "mri" and decoded.source_format == "zip"


def test_zip_of_a_multi_frame_file() -> None:
    decoded = decode(_zip({"cine.dcm": sample("emri_small.dcm")}), options=DEFAULT)
    assert decoded.is_series and decoded.total_slices == 10 and decoded.source_format == "zip"


def test_zip_without_dicom() -> None:
    photo = encode(np.zeros((8, 8, 3), dtype=np.uint8), "PNG")
    with pytest.raises(UnsupportedFileType) as caught:
        decode(_zip({"a.png": photo, "notes.txt": b"hello"}), options=DEFAULT)
    assert caught.value.params["kind"] == "zip"  # "zip archive without DICOM files"


def test_empty_zip() -> None:
    with pytest.raises(UnsupportedFileType):
        decode(_zip({}), options=DEFAULT)


def test_zip_with_only_image_less_dicom() -> None:
    with pytest.raises(DicomNoPixelData):
        decode(
            _zip({"DICOMDIR": sample("rtplan.dcm"), "SR": sample("test-SR.dcm")}), options=DEFAULT
        )


def test_too_many_entries() -> None:
    entries = {f"n{i}.txt": b"x" for i in range(6)}
    with pytest.raises(UnsafeArchive):
        decode(_zip(entries), options=options(zip_max_entries=5))


@pytest.mark.parametrize(
    "name", ["../evil.dcm", "a/../../evil.dcm", "/etc/evil.dcm", "C:/evil.dcm", "..\\evil.dcm"]
)
def test_unsafe_paths(name: str) -> None:
    with pytest.raises(UnsafeArchive):
        decode(_zip({name: sample("CT_small.dcm")}), options=DEFAULT)


def test_nested_zip_is_refused() -> None:
    inner = _zip(_series_zip(2))
    with pytest.raises(UnsafeArchive):
        decode(_zip({"inner.zip": inner, **_series_zip(2)}), options=DEFAULT)


def test_compression_ratio_bomb() -> None:
    bomb = _zip({"zeros.dcm": b"\x00" * 20_000_000})
    assert len(bomb) < 100_000
    with pytest.raises(UnsafeArchive):
        decode(bomb, options=DEFAULT)


def test_declared_total_over_the_cap() -> None:
    data = _zip(_series_zip(3), method=zipfile.ZIP_STORED)
    with pytest.raises(UnsafeArchive):
        decode(data, options=options(zip_max_total_bytes=50_000))


def test_entry_larger_than_declared() -> None:
    """Headers that understate an entry's size: reading stops there and the CRC fails."""
    data = bytearray(_zip({"a.dcm": sample("CT_small.dcm")}))
    real = len(sample("CT_small.dcm"))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (1000).to_bytes(4, "little")
    assert real > 1000
    with pytest.raises(CorruptImage):
        decode(bytes(data), options=DEFAULT)


def test_encrypted_entry_is_refused() -> None:
    data = bytearray(_zip({"a.dcm": sample("CT_small.dcm")}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 0x01
    with pytest.raises(UnsafeArchive):
        decode(bytes(data), options=DEFAULT)


def test_truncated_zip_is_corrupt() -> None:
    data = _zip(_series_zip(2))
    with pytest.raises(CorruptImage):
        decode(data[: len(data) // 2], options=DEFAULT)


def test_bytes_are_counted_while_inflating() -> None:
    """Defence in depth behind the declared sizes: the running count has its own cap."""
    budget = archive._Budget(10_000)
    assert len(archive._read(io.BytesIO(b"x" * 6_000), limit=6_000, budget=budget)) == 6_000
    with pytest.raises(UnsafeArchive):
        archive._read(io.BytesIO(b"x" * 6_000), limit=6_000, budget=budget)
