"""The attack files of issue 18, made cheaply: small files that cost a decoder dearly.

- `deflate_bomb`: a ~1 MB DICOM in Deflated Explicit VR Little Endian whose data set
  inflates to 1 GiB (pydicom inflates it whole inside `dcmread`);
- `deep_png`: a 16-bit grey PNG just under the pixel cap, a few hundred KB (whole-image
  float64 copies while stretching cost 8 bytes a pixel each);
- `frame_bomb`: a ~79 KB multi-frame JPEG 2000 MR file, 300 frames of 6000 x 6000, one
  blank codestream repeated (every frame decoded for the intensity range, then again).

Deflate streams are built from one compressed chunk repeated: a raw deflate block
sequence flushed with Z_FULL_FLUSH ends on a byte boundary and refers to nothing before
it, so copies of it concatenate into a valid stream without compressing gigabytes.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

import imagecodecs
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    MRImageStorage,
    generate_uid,
)

from tests.imaging.helpers import dicom_bytes

GIB = 2**30
CHUNK = 2**20


def repeated_deflate(prefix: bytes, *, zeros: int) -> bytes:
    """A raw deflate stream of `prefix` then `zeros` zero bytes (a multiple of 1 MiB), cheaply."""
    head = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    start = head.compress(prefix) + head.flush(zlib.Z_FULL_FLUSH)
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = raw.compress(bytes(CHUNK)) + raw.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()  # the final block
    return start + chunk * (zeros // CHUNK) + end


def _image(modality: str, *, rows: int, columns: int) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.Modality = modality
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 0
    return ds


def _meta(syntax: str, ds: Dataset) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    return meta


@functools.cache
def deflate_bomb(inflated: int = GIB) -> bytes:
    """A DICOM whose Deflated data set inflates to `inflated` bytes, most of it pixel data."""
    ds = _image("MR", rows=2**14, columns=inflated // 2**15)
    ds.file_meta = _meta(ExplicitVRLittleEndian, ds)
    body = dicom_bytes(ds)[132 + len(_meta_bytes(ds)) :]  # the data set, explicit VR LE
    pixel_header = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, inflated)
    deflated = repeated_deflate(body + pixel_header, zeros=inflated)
    ds.file_meta = _meta(DeflatedExplicitVRLittleEndian, ds)
    return bytes(128) + b"DICM" + _meta_bytes(ds) + deflated


def _meta_bytes(ds: Dataset) -> bytes:
    """The file meta group as written (group length included)."""
    whole = dicom_bytes(ds)
    length = struct.unpack("<I", whole[140:144])[0]  # (0002,0000) UL, after the preamble
    return whole[132 : 144 + length]


def deflate_bomb_zip() -> bytes:
    """The deflate bomb stored in a zip: the zip's own ratio checks see a 1 MB entry, 1:1."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("IM0001.dcm", deflate_bomb())
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


@functools.cache
def deep_png(width: int = 9_460, height: int = 9_458) -> bytes:
    """A 16-bit grey PNG of a left-to-right ramp, by default just under the pixel cap.

    The cap is MEDGEMMA_MAX_PIXELS (100 M) or Pillow's own, 89,478,485, whichever is
    lower: 9460 x 9458 is 89,472,680.

    Row 0 holds the ramp; every later row is filtered "Up" with zero differences, so the
    image data is one short row and then zeros.
    """
    ramp = np.linspace(0, 65535, width).astype(">u2").tobytes()
    row = 1 + 2 * width
    rows_per_chunk = max(1, CHUNK // row)
    chunk_rows = (b"\x02" + bytes(2 * width)) * rows_per_chunk
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stored = compressor.compress(b"\x00" + ramp) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = zlib.adler32(b"\x00" + ramp)
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = raw.compress(chunk_rows) + raw.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(height - 1, rows_per_chunk)
    for _ in range(full):
        checksum = zlib.adler32(chunk_rows, checksum)
    tail_rows = (b"\x02" + bytes(2 * width)) * rest
    checksum = zlib.adler32(tail_rows, checksum)
    last = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    tail = last.compress(tail_rows) + last.flush()
    stream = b"\x78\xda" + stored + chunk * full + tail + struct.pack(">I", checksum)
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", stream)
        + _png_chunk(b"IEND", b"")
    )


@functools.cache
def frame_bomb(frames: int = 300, side: int = 6000) -> bytes:
    """A multi-frame JPEG 2000 MR file: one blank side x side codestream, `frames` times."""
    blank = imagecodecs.jpeg2k_encode(
        np.zeros((side, side), np.uint16), codecformat=imagecodecs.JPEG2K.CODEC.J2K
    )
    ds = _image("MR", rows=side, columns=side)
    ds.NumberOfFrames = frames
    ds.PixelData = encapsulate([bytes(blank)] * frames)
    ds["PixelData"].VR = "OB"
    ds.file_meta = _meta(JPEG2000Lossless, ds)
    return dicom_bytes(ds)
