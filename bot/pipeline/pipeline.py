"""The one path every front shares: files -> images -> conversation -> backend -> answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from bot.backends.base import Backend, GenerationRequest, QueueCallback
from bot.errors import BackendTimeout, NothingToAnswer
from bot.logs import event
from bot.pipeline.conversation import Budget, Conversation, Note, Texts, build
from bot.pipeline.file_loader import FileLoader
from bot.pipeline.messages import (
    Answer,
    AnswerStats,
    DecodedMessage,
    DecodedThread,
    UndecodedMessage,
)
from bot.pipeline.notes import answer_notes, caveats, seen_images
from bot.prompts import ENGLISH, Prompts, profile_for
from bot.settings import Settings
from bot.specialty import Specialty

log = logging.getLogger(__name__)

TextCallback = Callable[[str], None]


@dataclass(frozen=True)
class Generated:
    """What the backend streamed, and when its first text came."""

    text: str
    first_token_s: float
    generation_s: float = 0.0  # from the first text to the last


class QueueTimer:
    """Passes places in line on, and notes when the request got its place (0)."""

    def __init__(self, forward: QueueCallback | None) -> None:
        self._forward = forward
        self._since = time.monotonic()
        self.waited_s: float | None = None

    def __call__(self, place: int) -> None:
        if place == 0 and self.waited_s is None:
            self.waited_s = round(time.monotonic() - self._since, 3)
        if self._forward is not None:
            self._forward(place)


class Pipeline:
    """Answers a thread's newest question; shared by Slack and the terminal."""

    def __init__(
        self, *, backend: Backend, prompts: Prompts, settings: Settings, files: FileLoader
    ) -> None:
        self.backend = backend
        self._prompts = prompts
        self._settings = settings
        self._files = files
        self._profile = profile_for(settings.prompt_profile, settings.model)

    async def answer(
        self,
        thread: Sequence[UndecodedMessage],
        *,
        channel_specialty: Specialty | None = None,
        request_id: str = "",
        on_text: TextCallback | None = None,
        on_position: QueueCallback | None = None,
        notes: Sequence[Note] = (),
        language: str = ENGLISH,
    ) -> Answer:
        """Decode the thread's files, plan the request, generate the newest answer."""
        started = time.monotonic()
        decoded = await self._decode(thread)
        specialty = self._specialty(decoded.messages, channel_specialty)
        conv = self.plan(decoded.messages, specialty=specialty, language=language)
        queue = QueueTimer(on_position)
        generated = await self._generate(
            conv, request_id=request_id, queue=queue, on_text=on_text, started=started
        )
        stats = self._stats(decoded, conv, generated=generated, queue=queue)
        _log_answer(conv, generated=generated, stats=stats, request_id=request_id, started=started)
        found = [
            *notes,
            *answer_notes(decoded, conv, model=self._settings.model, empty=not generated.text),
            *caveats(generated.text, specialty=specialty),
        ]
        return Answer(
            findings=generated.text,
            notes=tuple(self._render(found, language=language)),
            stats=stats,
            seen=seen_images(conv),
        )

    async def _decode(self, thread: Sequence[UndecodedMessage]) -> DecodedThread:
        """The thread's files decoded; a thread with nothing to answer stops here."""
        decoded = await self._files.decode_thread(thread)
        if not thread[-1].text.strip() and not any(m.files for m in decoded.messages):
            raise NothingToAnswer("an empty message in a thread without images")
        return decoded

    def plan(
        self, thread: Sequence[DecodedMessage], *, specialty: Specialty, language: str = ENGLISH
    ) -> Conversation:
        """Build the model request for the thread's newest message."""
        capabilities = self.backend.capabilities
        return build(
            thread,
            texts=Texts(
                system=self._prompts.system_prompt(
                    specialty, profile=self._profile, model=self._settings.model
                ),
                image_sets=self._prompts.image_sets,
                default_question=self._prompts.text(
                    "format", "default_question", language=language
                ),
            ),
            budget=Budget(
                context_tokens=min(self._settings.context_tokens, capabilities.context_tokens),
                model_context=capabilities.context_tokens,
                max_images=min(self._settings.max_images, capabilities.max_images or 10**6),
                max_new_tokens=self._settings.max_new_tokens,
                tokens_per_image=capabilities.tokens_per_image,
                max_request_images=capabilities.max_images,
            ),
            count_text=self.backend.count_text_tokens,
        )

    async def _generate(
        self,
        conv: Conversation,
        *,
        request_id: str,
        queue: QueueTimer,
        on_text: TextCallback | None,
        started: float,
    ) -> Generated:
        """Stream the answer under the generation deadline (MEDGEMMA_TIMEOUT_S)."""
        request = GenerationRequest(
            messages=conv.messages,
            max_new_tokens=conv.max_new_tokens,
            request_id=request_id,
            on_queue_position=queue,
        )
        chunks: list[str] = []
        first_token_at: float | None = None
        deadline = self._settings.timeout_s
        try:
            async with asyncio.timeout(deadline), aclosing(self.backend.stream(request)) as stream:
                async for chunk in stream:
                    first_token_at = first_token_at or time.monotonic()
                    chunks.append(chunk)
                    if on_text is not None:
                        on_text(chunk)
        except TimeoutError as exc:
            raise BackendTimeout("no complete answer in time", seconds=deadline) from exc
        ended = time.monotonic()
        first = (first_token_at or ended) - started
        return Generated(
            text="".join(chunks).strip(),
            first_token_s=round(first, 3),
            generation_s=round(ended - (first_token_at or ended), 3),
        )

    def _specialty(
        self, thread: Sequence[DecodedMessage], channel_specialty: Specialty | None
    ) -> Specialty:
        """The image's own hint (a DICOM modality) first, then the channel's, then default."""
        for message in reversed(thread):
            for file in message.files:
                if file.specialty is not None:
                    return file.specialty
        return channel_specialty or self._settings.specialty

    def _render(self, notes: Sequence[Note], *, language: str) -> list[str]:
        """The notes as the asker reads them."""
        return [
            self._prompts.render("notes", key, params, language=language) for key, params in notes
        ]

    def _stats(
        self,
        decoded: DecodedThread,
        conv: Conversation,
        *,
        generated: Generated,
        queue: QueueTimer,
    ) -> AnswerStats:
        """Counts and timings of the request, for metrics and the audit log."""
        newest = decoded.messages[-1].files
        return AnswerStats(
            images=conv.image_count,
            slices=sum(len(f.images) for f in newest if f.is_image_set),
            first_token_s=generated.first_token_s,
            queue_wait_s=queue.waited_s,
            generation_s=generated.generation_s,
            tokens=self.backend.count_text_tokens(generated.text) if generated.text else 0,
        )


def _log_answer(
    conv: Conversation,
    *,
    generated: Generated,
    stats: AnswerStats,
    request_id: str,
    started: float,
) -> None:
    """One `answered` event: sizes and timings, no content."""
    event(
        log,
        "answered",
        request_id=request_id,
        turns=len(conv.messages) - 1,
        prompt_tokens=conv.tokens,
        answer_chars=len(generated.text),
        seconds=round(time.monotonic() - started, 3),
        images=stats.images,
        first_token_s=stats.first_token_s,
    )
