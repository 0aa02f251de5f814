"""Bytes of one shared file -> a DecodedFile, whatever the format."""

from __future__ import annotations

from bot.errors import CorruptImage, DecodeBudgetExceeded, ImagingError, UnsupportedFileType
from bot.imaging.budget import Allowance
from bot.imaging.dicom.file import decode_dicom
from bot.imaging.dicom.zipseries import decode_zip
from bot.imaging.pdf import decode_pdf
from bot.imaging.raster import RASTER_KINDS, decode_raster
from bot.imaging.sniff import UNSUPPORTED_KINDS, sniff
from bot.imaging.types import DecodedFile, ImagingOptions


def decode(
    data: bytes, *, options: ImagingOptions, allowance: Allowance | None = None
) -> DecodedFile:
    """Decode one file into model-ready images; pure and CPU-bound (run it off the loop).

    Every piece of work is charged to `allowance` (made from `options.budget` when not
    given) before it is done. Threads may decode at once. `bot.imaging.configure()`,
    called once at start-up, keeps the libraries' warnings and log lines out of the output
    and turns Pillow's bomb warning into ImageTooLarge.
    """
    kind = sniff(data)
    allowance = allowance or Allowance(options.budget)
    try:
        return _decode_kind(data, kind=kind, options=options, allowance=allowance)
    except ImagingError:
        raise
    except MemoryError as exc:
        # Decoding processes run under an address-space limit: running into it is the
        # memory budget, not a damaged file.
        raise DecodeBudgetExceeded(detail=f"out of memory decoding {kind}") from exc
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


def _decode_kind(
    data: bytes, *, kind: str, options: ImagingOptions, allowance: Allowance
) -> DecodedFile:
    """Send the bytes to the decoder for their sniffed type."""
    if kind in RASTER_KINDS:
        return decode_raster(data, kind=kind, options=options, allowance=allowance)
    if kind == "dicom":
        return decode_dicom(data, options=options, allowance=allowance)
    if kind == "zip":
        return decode_zip(data, options=options, allowance=allowance)
    if kind == "pdf":
        return decode_pdf(data, options=options, allowance=allowance)
    name = kind if kind in UNSUPPORTED_KINDS else "unknown"
    raise UnsupportedFileType(detail=f"sniffed as {kind}", kind=name)
