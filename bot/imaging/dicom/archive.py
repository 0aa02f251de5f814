"""Read the DICOM entries of a zip archive, in memory, within firm limits."""

from __future__ import annotations

import io
import re
import zipfile
from typing import IO

from bot.errors import CorruptImage, ImagingError, UnsafeArchive
from bot.imaging.sniff import sniff
from bot.imaging.types import ImagingOptions

# Enough of an entry to sniff it, including a DICOM preamble.
_HEAD_BYTES = 4096
_CHUNK_BYTES = 1 << 16
# DICOM compresses 2-10x, blank frames far more; a zip bomb reaches ~1000x. Entries under
# the floor cannot do harm whatever their ratio.
_MAX_RATIO = 200
_RATIO_FLOOR_BYTES = 1 << 20
_NESTED_ARCHIVES = frozenset({"zip", "gzip", "rar", "7z"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_ENCRYPTED_FLAG = 0x1


class _Budget:
    """Bytes we still accept from the archive as a whole, counted as they are inflated."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, count: int) -> None:
        """Spend `count` bytes, refusing the archive when the total cap is passed."""
        self.left -= count
        if self.left < 0:
            raise UnsafeArchive(detail="zip inflates past the total size cap")


def dicom_entries(data: bytes, *, options: ImagingOptions) -> list[bytes]:
    """The bytes of every DICOM entry, after checking the archive is safe to read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        raise CorruptImage(detail="zip directory unreadable") from exc
    with archive:
        infos = archive.infolist()
        check_listing(infos, options=options)
        budget = _Budget(options.zip_max_total_bytes)
        try:
            payloads = [_dicom_payload(archive, info, budget=budget) for info in infos]
        except ImagingError:
            raise
        except Exception as exc:
            # zlib.error, BadZipFile (CRC), EOFError, NotImplementedError (method), ...
            raise CorruptImage(detail="zip entry could not be read") from exc
    return [payload for payload in payloads if payload is not None]


def check_listing(infos: list[zipfile.ZipInfo], *, options: ImagingOptions) -> None:
    """Refuse from the central directory alone: counts, names, encryption, sizes, ratios."""
    if len(infos) > options.zip_max_entries:
        raise UnsafeArchive(detail="zip has too many entries")
    declared = 0
    for info in infos:
        if unsafe_name(info.filename):
            raise UnsafeArchive(detail="zip entry with an absolute or parent path")
        if info.flag_bits & _ENCRYPTED_FLAG:
            raise UnsafeArchive(detail="encrypted zip entry")
        ratio_limit = _MAX_RATIO * max(1, info.compress_size)
        if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > ratio_limit:
            raise UnsafeArchive(detail="zip entry compression ratio too high")
        declared += info.file_size
    if declared > options.zip_max_total_bytes:
        raise UnsafeArchive(detail="zip declares more than the total size cap")


def unsafe_name(name: str) -> bool:
    """Absolute paths, drive letters and '..' parts, in either slash style."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or _DRIVE.match(normalised):
        return True
    return ".." in normalised.split("/")


def _dicom_payload(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, budget: _Budget
) -> bytes | None:
    """The entry's bytes when it is DICOM; None for folders, metadata and other files."""
    if info.is_dir() or info.file_size == 0 or _is_mac_metadata(info.filename):
        return None
    with archive.open(info) as stream:
        head = _read(stream, limit=_HEAD_BYTES, budget=budget)
        kind = sniff(head)
        if kind in _NESTED_ARCHIVES:
            raise UnsafeArchive(detail="nested archive inside zip")
        if kind != "dicom":
            return None
        # One byte past the declared size tells us the header lied.
        rest = _read(stream, limit=info.file_size - len(head) + 1, budget=budget)
    payload = head + rest
    if len(payload) != info.file_size:
        raise UnsafeArchive(detail="zip entry size differs from its header")
    return payload


def _read(stream: IO[bytes], *, limit: int, budget: _Budget) -> bytes:
    """Up to `limit` bytes, in chunks, each charged to the budget as it arrives."""
    chunks = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(_CHUNK_BYTES, remaining))
        if not chunk:
            break
        budget.take(len(chunk))
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _is_mac_metadata(name: str) -> bool:
    """Finder's __MACOSX/ folder and ._ resource forks, added by macOS when zipping."""
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._")
