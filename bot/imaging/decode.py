"""Bytes of one shared file -> a DecodedFile, whatever the format."""

from __future__ import annotations

from bot.errors import CorruptImage, ImagingError, UnsupportedFileType
from bot.imaging.dicom.file import decode_dicom
from bot.imaging.dicom.zipseries import decode_zip
from bot.imaging.raster import RASTER_KINDS, decode_raster
from bot.imaging.sniff import UNSUPPORTED_KINDS, sniff
from bot.imaging.types import DecodedFile, ImagingOptions


def decode(data: bytes, *, options: ImagingOptions) -> DecodedFile:
    """Decode one file into model-ready images; pure and CPU-bound (run it in a thread).

    Threads may decode at once. `bot.imaging.configure()`, called once at start-up, keeps
    the libraries' warnings and log lines out of the output and turns Pillow's bomb
    warning into ImageTooLarge.
    """
    kind = sniff(data)
    try:
        return _decode_kind(data, kind=kind, options=options)
    except ImagingError:
        raise
    except Exception as exc:
        # Last line of defence (e.g. RecursionError deep in a parser): hostile bytes
        # must end as an ImagingError, never as a crash of the caller.
        raise CorruptImage(detail=f"unexpected failure decoding {kind}") from exc
    except BaseException as exc:
        # Rust codecs (pylibjpeg-rle) turn a bug hit by bad input into pyo3's
        # PanicException, a BaseException; anything else (KeyboardInterrupt, ...) passes.
        if type(exc).__name__ != "PanicException":
            raise
        raise CorruptImage(detail=f"a native decoder panicked on {kind}") from exc


def _decode_kind(data: bytes, *, kind: str, options: ImagingOptions) -> DecodedFile:
    """Send the bytes to the decoder for their sniffed type."""
    if kind in RASTER_KINDS:
        return decode_raster(data, kind=kind, options=options)
    if kind == "dicom":
        return decode_dicom(data, options=options)
    if kind == "zip":
        return decode_zip(data, options=options)
    name = kind if kind in UNSUPPORTED_KINDS else "unknown"
    raise UnsupportedFileType(detail=f"sniffed as {kind}", kind=name)
