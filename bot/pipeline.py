"""The one path every front shares: files -> images -> conversation -> backend -> answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass
from typing import Literal

from bot import imaging
from bot.backends.base import Backend, GenerationRequest, QueueCallback
from bot.cache import ImageCache
from bot.conversation import Budget, Conversation, Note, Texts, ThreadMessage, build
from bot.errors import BackendTimeout, FileError
from bot.imaging.types import DecodedFile, ImagingOptions, PrivacyFlag
from bot.logs import event
from bot.prompts import Prompts
from bot.settings import Settings

log = logging.getLogger(__name__)

PARALLEL_DOWNLOADS = 8
VOLUME_MODEL_HINT = "1.5"  # MedGemma 1.5 is the release trained on CT/MRI volumes


@dataclass(frozen=True)
class FileRef:
    """A file to fetch: `key` identifies it for the cache (a Slack file id)."""

    key: str
    size: int | None = None
    source: object = None  # what the fetcher needs (a Slack file object, a path)


@dataclass(frozen=True)
class IncomingMessage:
    """A thread message before its files are fetched and decoded."""

    role: Literal["user", "assistant"]
    text: str
    author: str = ""
    files: tuple[FileRef, ...] = ()


@dataclass(frozen=True)
class Answer:
    """The model's findings and the bot's own notes about the request."""

    findings: str
    notes: tuple[str, ...] = ()


Fetch = Callable[[FileRef], Awaitable[bytes]]
TextCallback = Callable[[str], None]


def imaging_options(settings: Settings) -> ImagingOptions:
    """Image settings for the imaging package."""
    return ImagingOptions(
        max_pixels=settings.max_pixels,
        pad_to_square=settings.pad_to_square,
        max_slices=settings.max_slices,
        pathology_tiles=settings.pathology_tiles,
        pathology_patches=settings.pathology_patches,
    )


class Pipeline:
    """Answers a thread's newest question; shared by Slack and the terminal."""

    def __init__(
        self, *, backend: Backend, prompts: Prompts, settings: Settings, cache: ImageCache
    ) -> None:
        self.backend = backend
        self._prompts = prompts
        self._settings = settings
        self._cache = cache
        self._options = imaging_options(settings)
        self._decoders = ThreadPoolExecutor(max_workers=2, thread_name_prefix="decode")
        self._downloads = asyncio.Semaphore(PARALLEL_DOWNLOADS)

    def close(self) -> None:
        """Stop the decoding threads."""
        self._decoders.shutdown(wait=False, cancel_futures=True)

    # -- files --------------------------------------------------------------------------

    async def _decode(self, ref: FileRef, fetch: Fetch) -> DecodedFile:
        async def load() -> DecodedFile:
            async with self._downloads:
                data = await fetch(ref)
            loop = asyncio.get_running_loop()
            started = time.monotonic()
            decoded = await loop.run_in_executor(
                self._decoders, lambda: imaging.decode(data, options=self._options)
            )
            event(
                log,
                "file_decoded",
                file_id=ref.key,
                bytes=len(data),
                kind=decoded.kind,
                format=decoded.source_format,
                images=len(decoded.images),
                seconds=round(time.monotonic() - started, 3),
            )
            return decoded

        return await self._cache.get_or_load(ref.key, load)

    async def _resolve(
        self, message: IncomingMessage, fetch: Fetch, *, newest: bool
    ) -> tuple[ThreadMessage, int]:
        """Decode a message's files; an old file that fails is left out and counted."""
        results = await asyncio.gather(
            *(self._decode(ref, fetch) for ref in message.files), return_exceptions=True
        )
        files: list[DecodedFile] = []
        failed = 0
        for result in results:
            if isinstance(result, BaseException):
                if newest or not isinstance(result, FileError):
                    raise result
                failed += 1
            else:
                files.append(result)
        assembled = tuple(imaging.assemble(files, options=self._options))
        thread_message = ThreadMessage(message.role, message.text, message.author, assembled)
        return thread_message, failed

    # -- answer -------------------------------------------------------------------------

    def _specialty(self, thread: Sequence[ThreadMessage], channel_specialty: str | None) -> str:
        """The image's own hint (a DICOM modality) first, then the channel's, then default."""
        for message in reversed(thread):
            for file in message.files:
                if file.specialty is not None:
                    return str(file.specialty)
        return channel_specialty or self._settings.specialty

    def _notes(self, newest: ThreadMessage, conv: Conversation, failed: int) -> list[Note]:
        notes: list[Note] = []
        flags = frozenset().union(*(f.privacy_flags for f in newest.files))
        if PrivacyFlag.PATIENT_IDENTIFIERS in flags:
            notes.append(("patient_identifiers", {}))
        if PrivacyFlag.BURNED_IN_ANNOTATION in flags:
            notes.append(("burned_in", {}))
        for file in newest.files:
            if file.skipped_series:
                notes.append(("series_skipped", {"count": file.skipped_series}))
            if file.is_series:
                notes.append(
                    ("slices_used", {"used": len(file.images), "total": file.total_slices})
                )
        if any(f.is_series for f in newest.files) and VOLUME_MODEL_HINT not in self._settings.model:
            notes.append(("series_model", {"model": self._settings.model}))
        if failed:
            notes.append(("files_unreadable", {"count": failed}))
        return [*notes, *conv.notes]

    def plan(self, thread: Sequence[ThreadMessage], *, specialty: str) -> Conversation:
        """Build the model request for the thread's newest message."""
        capabilities = self.backend.capabilities
        return build(
            thread,
            texts=Texts(
                system=self._prompts.system_prompt(specialty),
                series=self._prompts.series,
                default_question=self._prompts.text("format", "default_question"),
            ),
            budget=Budget(
                context_tokens=min(self._settings.context_tokens, capabilities.context_tokens),
                model_context=capabilities.context_tokens,
                max_images=min(self._settings.max_images, capabilities.max_images or 10**6),
                max_new_tokens=self._settings.max_new_tokens,
                tokens_per_image=capabilities.tokens_per_image,
            ),
            count_text=self.backend.count_text_tokens,
        )

    async def answer(
        self,
        thread: Sequence[IncomingMessage],
        *,
        fetch: Fetch,
        channel_specialty: str | None = None,
        request_id: str = "",
        on_text: TextCallback | None = None,
        on_position: QueueCallback | None = None,
    ) -> Answer:
        """Fetch, decode, plan and generate the answer to the newest message."""
        started = time.monotonic()
        resolved = await asyncio.gather(
            *(self._resolve(m, fetch, newest=i == len(thread) - 1) for i, m in enumerate(thread))
        )
        messages = [m for m, _ in resolved]
        failed = sum(n for _, n in resolved)
        conv = self.plan(messages, specialty=self._specialty(messages, channel_specialty))
        request = GenerationRequest(
            messages=conv.messages,
            max_new_tokens=conv.max_new_tokens,
            request_id=request_id,
            on_queue_position=on_position,
        )
        chunks: list[str] = []
        first_token_at: float | None = None
        try:
            # A deadline here as well as in each backend: no backend can hang a question.
            async with asyncio.timeout(self._settings.timeout_s):
                async with aclosing(self.backend.stream(request)) as stream:
                    async for chunk in stream:
                        first_token_at = first_token_at or time.monotonic()
                        chunks.append(chunk)
                        if on_text is not None:
                            on_text(chunk)
        except TimeoutError as exc:
            raise BackendTimeout(
                "no complete answer in time", seconds=self._settings.timeout_s
            ) from exc
        findings = "".join(chunks).strip()
        notes = self._notes(messages[-1], conv, failed)
        if not findings:
            notes.append(("empty_answer", {}))
        event(
            log,
            "answered",
            request_id=request_id,
            turns=len(conv.messages) - 1,
            images=conv.image_count,
            prompt_tokens=conv.tokens,
            answer_chars=len(findings),
            first_token_s=round((first_token_at or time.monotonic()) - started, 3),
            seconds=round(time.monotonic() - started, 3),
        )
        rendered = tuple(self._prompts.text("notes", key, **params) for key, params in notes)
        return Answer(findings=findings, notes=rendered)
