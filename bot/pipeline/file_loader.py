"""Shared files -> decoded images, for a whole thread at once.

The loader owns what reading files costs: the decoded-image cache (a follow-up reads
nothing again), a limit on parallel downloads, the decoding processes (decoding is CPU
work, never on the event loop, and bounded: `bot.pipeline.decoding.pool`), each
question's decoding budget, and the assembly of single DICOM slices into series.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from bot import imaging
from bot.errors import FileError
from bot.imaging.budget import MIB, DecodeBudget
from bot.imaging.types import DecodedFile, ImagingOptions
from bot.logs import event
from bot.pipeline.cache import ImageCache
from bot.pipeline.decoding.jobs import Ticket
from bot.pipeline.decoding.pool import DecodePool
from bot.pipeline.limits import SizeCap
from bot.pipeline.messages import DecodedMessage, DecodedThread, SharedFile, UndecodedMessage
from bot.settings import Settings

log = logging.getLogger(__name__)

PARALLEL_DOWNLOADS = 8
# A file may decode this many frames' worth of the pixel cap; a question, this many files'
# worth of time and pixels.
FILE_FRAMES_OF_CAP = 2
QUESTION_FILES = 3


def decode_budget(settings: Settings) -> DecodeBudget:
    """Every decoding limit, from the settings (README, "Supported files")."""
    file_pixels = FILE_FRAMES_OF_CAP * settings.max_pixels
    return DecodeBudget(
        file_pixels=file_pixels,
        question_pixels=QUESTION_FILES * file_pixels,
        file_seconds=settings.decode_timeout_s,
        question_seconds=QUESTION_FILES * settings.decode_timeout_s,
        worker_memory=settings.decode_memory_mb * MIB,
        workers=settings.decode_workers,
    )


def imaging_options(settings: Settings) -> ImagingOptions:
    """Image settings for the imaging package."""
    return ImagingOptions(
        max_pixels=settings.max_pixels,
        pad_to_square=settings.pad_to_square,
        max_slices=settings.max_slices,
        pathology_tiles=settings.pathology_tiles,
        pathology_patches=settings.pathology_patches,
        max_pages=settings.pdf_max_pages,
        budget=decode_budget(settings),
    )


class FileLoader:
    """Reads and decodes the files of a thread's messages, with a cache in front.

    Every front (run, ask, eval) builds one at start-up: it configures the imaging
    libraries for the process, and holds the download cap the Slack front checks too.
    """

    def __init__(self, *, settings: Settings) -> None:
        imaging.configure()
        self._options = imaging_options(settings)
        self.size_cap = SizeCap.of(settings)
        self._cache = ImageCache(
            max_bytes=settings.image_cache_mb * 2**20, ttl_s=settings.image_cache_ttl_s
        )
        self.decoders = DecodePool(budget=self._options.budget)
        self._downloads = asyncio.Semaphore(PARALLEL_DOWNLOADS)

    def close(self) -> None:
        """Stop the decoding processes."""
        self.decoders.close()

    async def decode_thread(self, thread: Sequence[UndecodedMessage]) -> DecodedThread:
        """Decode every message's files, leaving out those that cannot be read.

        When none of the newest message's files can be read, its first failure is the
        answer (the user's own message says what is wrong); when some can, the answer
        is about those and names the others.
        """
        newest = len(thread) - 1
        ticket = Ticket.of(self._options.budget)  # this question's share of decoding
        results = await asyncio.gather(
            *(
                self._decode_message(m, newest=i == newest, ticket=ticket)
                for i, m in enumerate(thread)
            )
        )
        earlier = [failed for _, failed in results[:-1]]
        return DecodedThread(
            messages=[message for message, _ in results],
            unreadable=sum(len(failed) for failed in earlier),
            skipped=tuple(results[-1][1]),
            newest_files=len(thread[-1].files) if thread else 0,
        )

    async def _decode_message(
        self, message: UndecodedMessage, *, newest: bool, ticket: Ticket
    ) -> tuple[DecodedMessage, list[int]]:
        """The message with the files that decoded; the 1-based positions of the rest."""
        results = await asyncio.gather(
            *(self._decode(file, ticket=ticket) for file in message.files),
            return_exceptions=True,
        )
        files = [r for r in results if not isinstance(r, BaseException)]
        failures = [(n, r) for n, r in enumerate(results, 1) if isinstance(r, BaseException)]
        for _, error in failures:
            if not isinstance(error, FileError):
                raise error  # a bug or a cancellation, not a bad file
        if newest and failures and not files:
            raise failures[0][1]
        assembled = tuple(imaging.assemble(files, options=self._options))
        decoded = DecodedMessage(message.role, message.text, message.author, assembled)
        return decoded, [n for n, _ in failures]

    async def _decode(self, file: SharedFile, *, ticket: Ticket) -> DecodedFile:
        return await self._cache.get_or_load(file.key, lambda: self._load(file, ticket=ticket))

    async def _load(self, file: SharedFile, *, ticket: Ticket) -> DecodedFile:
        self.size_cap.check(file.size)
        async with self._downloads:
            data = await file.read()
        started = time.monotonic()
        decoded = await self.decoders.decode(data, options=self._options, ticket=ticket)
        event(
            log,
            "file_decoded",
            file_id=file.key,
            bytes=len(data),
            kind=decoded.kind,
            format=decoded.source_format,
            images=len(decoded.images),
            seconds=round(time.monotonic() - started, 3),
        )
        return decoded
