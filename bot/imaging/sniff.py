"""Tell a file's type from its first bytes, never from its name."""

from __future__ import annotations

# Types we recognise but do not read; each names itself to the user through its
# [kinds] text in the catalogs ("unknown" for anything else).
UNSUPPORTED_KINDS = frozenset(
    {"pdf", "html", "svg", "text", "video", "audio", "zip", "gzip", "rar", "7z", "unknown"}
)

_HEIF_BRANDS = frozenset(b"heic heix heim heis hevc hevx heif mif1 msf1".split())
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))

# Explicit VR codes, to recognise a DICOM data set written without the 128-byte preamble.
_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL "
    b"UN UR US UT UV".split()
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF, common for whole-slide images
    (b"MM\x00+", "tiff"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
    (b"%PDF-", "pdf"),
    (b"\x1f\x8b", "gzip"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1a\x45\xdf\xa3", "video"),  # Matroska / WebM
    (b"ID3", "audio"),
    (b"fLaC", "audio"),
    (b"OggS", "audio"),
)


def sniff(data: bytes) -> str:
    """Name the type of `data` from its magic bytes ("png", "dicom", "pdf", ..., "unknown")."""
    if data[128:132] == b"DICM":
        return "dicom"
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return _refine_bmp(data) if kind == "bmp" else kind
    container = _riff(data) or _iso_media(data)
    if container:
        return container
    if _looks_like_bare_dicom(data):
        return "dicom"
    return _markup_or_text(data)


def _refine_bmp(data: bytes) -> str:
    """Check the BMP header size field, since "BM" alone also starts plain text."""
    header_size = int.from_bytes(data[14:18], "little") if len(data) >= 18 else 0
    return "bmp" if header_size in (12, 16, 40, 52, 56, 64, 108, 124) else _markup_or_text(data)


def _riff(data: bytes) -> str | None:
    """RIFF containers: WebP images, AVI video, WAV audio."""
    if not data.startswith(b"RIFF"):
        return None
    return {b"WEBP": "webp", b"AVI ": "video", b"WAVE": "audio"}.get(data[8:12], "unknown")


def _iso_media(data: bytes) -> str | None:
    """ISO base media files (HEIC, AVIF, MP4, MOV) by their 'ftyp' brands."""
    if data[4:8] in (b"moov", b"mdat", b"wide"):
        return "video"  # QuickTime files that start without an 'ftyp' box
    if data[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(data[0:4], "big")
    major = data[8:12]
    compatible = {data[i : i + 4] for i in range(16, min(box_size, len(data), 64), 4)}
    brands = {major} | compatible
    if major in _AVIF_BRANDS or (major == b"mif1" and brands & _AVIF_BRANDS):
        return "avif"
    if major in _HEIF_BRANDS:
        return "heic"
    if major in _AUDIO_BRANDS:
        return "audio"
    return "video"


def _looks_like_bare_dicom(data: bytes) -> bool:
    """A data set without preamble: a group 0x0002 or 0x0008 element in either byte order."""
    if len(data) < 8:
        return False
    little = int.from_bytes(data[0:2], "little")
    big = int.from_bytes(data[0:2], "big")
    if data[4:6] in _VRS:
        return little in (0x0002, 0x0008) or big in (0x0002, 0x0008)
    # Implicit VR little endian: a 4-byte value length follows; group elements are short.
    length = int.from_bytes(data[4:8], "little")
    return little in (0x0002, 0x0008) and length % 2 == 0 and length <= 1024


def _markup_or_text(data: bytes) -> str:
    """HTML (a Slack login page), SVG, other text, or unknown bytes."""
    head, encoding = data[:4096], "utf-8"
    for bom, bom_encoding in _BOMS:
        if head.startswith(bom):
            head, encoding = head[len(bom) :], bom_encoding
            break
    # Markup is told by its first characters, however the rest of the bytes decode.
    start = head[:512].decode(encoding, errors="ignore").lstrip().lower()
    if start.startswith(("<!doctype html", "<html")):
        return "html"
    if start.startswith("<svg") or (start.startswith("<?xml") and "<svg" in start):
        return "svg"
    return "text" if head and _is_text(head, encoding) else "unknown"


def _is_text(head: bytes, encoding: str) -> bool:
    """True when `head` decodes and is almost all printable characters."""
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        # A cut (ours or the caller's) can split the last character; earlier errors count.
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode(encoding)
    printable = sum(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
    return bool(text) and printable >= 0.95 * len(text)
