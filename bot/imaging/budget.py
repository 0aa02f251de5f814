"""What decoding one file, and one question's files, may cost: stated once, checked before the work.

`DecodeBudget` holds every limit. The imaging code enforces the per-file parts itself,
through an `Allowance` that each decode spends before it decodes anything: decoded pixels
(frames x rows x columns; a multi-frame file is sampled more thinly rather than refused)
and the bytes a Deflated DICOM data set may inflate to. The file loader enforces the rest
around its decoding processes: the time per file and per question, the memory of each
process, and the question's share of pixels.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from bot.errors import CorruptImage, DecodeBudgetExceeded

MIB = 2**20
_INFLATE_PIECE = MIB


@dataclass(frozen=True)
class DecodeBudget:
    """Every decoding limit; the defaults are the shipped ones (README, "Supported files")."""

    file_pixels: int = 200_000_000  # decoded pixels per file: 2 x MEDGEMMA_MAX_PIXELS
    question_pixels: int = 600_000_000  # decoded pixels for one question's files: 3 files' worth
    inflated_bytes: int = 256 * MIB  # a Deflated DICOM data set, once inflated
    file_seconds: float = 20.0  # a decoding process's time on one file (MEDGEMMA_DECODE_TIMEOUT_S)
    question_seconds: float = 60.0  # decoding time for one question's files: 3 files' worth
    worker_memory: int = 1536 * MIB  # address space of each decoding process
    workers: int = 2  # decoding processes (MEDGEMMA_DECODE_WORKERS)


class Allowance:
    """What one file may still spend while it decodes, charged before each piece of work."""

    def __init__(self, budget: DecodeBudget) -> None:
        self.pixels_left = budget.file_pixels
        self.inflate_left = budget.inflated_bytes
        self.pixels_spent = 0

    def spend(self, pixels: int) -> None:
        """Charge `pixels` about to be decoded; refuse when the file's pixels are spent."""
        if pixels > self.pixels_left:
            raise DecodeBudgetExceeded(detail="decoded pixels over the file's budget")
        self.pixels_left -= pixels
        self.pixels_spent += pixels

    def frames(self, wanted: int, *, frame_pixels: int) -> int:
        """How many of `wanted` frames of `frame_pixels` each fit (at least one, or refused)."""
        affordable = self.pixels_left // max(1, frame_pixels)
        if affordable < 1:
            raise DecodeBudgetExceeded(detail="one frame is over the file's pixel budget")
        return min(wanted, affordable)

    def inflate(self, compressed: bytes) -> bytes:
        """Raw deflate data inflated, never past the bytes left (pydicom inflates without a cap).

        Counted first in small pieces, kept nowhere: a bomb is refused having cost a
        megabyte. Only then inflated for real, into one buffer of the known size.
        """
        size = _inflated_size(compressed, limit=self.inflate_left)
        self.inflate_left -= size
        return zlib.decompress(compressed, -zlib.MAX_WBITS, max(1, size))


def _inflated_size(compressed: bytes, *, limit: int) -> int:
    """The size `compressed` inflates to; DecodeBudgetExceeded as soon as it passes `limit`."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pending, total = compressed, 0
    try:
        while not inflater.eof:
            piece = inflater.decompress(pending, _INFLATE_PIECE)
            total += len(piece)
            if total > limit:
                raise DecodeBudgetExceeded(detail="deflated data set inflates past its budget")
            pending = inflater.unconsumed_tail
            if not piece and not pending:
                break
    except zlib.error as exc:
        raise CorruptImage(detail="deflated data set does not inflate") from exc
    if not inflater.eof:
        raise CorruptImage(detail="deflated data set cut short")
    return total
