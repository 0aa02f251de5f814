"""The one path every front shares: files -> images -> conversation -> backend -> answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

from bot.backends.base import Backend, FinishReason, GenerationRequest, QueueCallback
from bot.errors import BackendTimeout, NothingToAnswer
from bot.imaging.types import PrivacyFlag
from bot.logs import event
from bot.pipeline import extraction
from bot.pipeline.abilities import Ability
from bot.pipeline.conversation import Conversation, Note
from bot.pipeline.file_loader import FileLoader
from bot.pipeline.localise import parse_boxes
from bot.pipeline.messages import (
    Answer,
    AnswerStats,
    DecodedMessage,
    DecodedThread,
    Located,
    UndecodedMessage,
)
from bot.pipeline.notes import answer_notes, caveats, cut_notes, model_advice, seen_images
from bot.pipeline.plans import Plan, Planner
from bot.pipeline.steps import StepCallback, StepReporter, first_steps
from bot.prompts import ENGLISH, Prompts
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
    finish: FinishReason = "stop"  # "length": stopped at the token limit, unfinished


_HEADERS = ("test", "result", "unit", "range", "check", "unchecked", "found")


@dataclass(frozen=True)
class Values:
    """What a values answer adds: the findings without the json, the table, the notes."""

    findings: str = ""
    table: tuple[tuple[str, ...], ...] = ()
    notes: list[Note] = field(default_factory=list)


def _shown(plan: Plan, on_text: TextCallback | None) -> TextCallback | None:
    """Where the answer's text goes as it comes: nowhere for a values answer, whose json
    becomes a table (streamed, it would show raw and then be replaced)."""
    return None if plan.ability is Ability.EXTRACT else on_text


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
        self._planner = Planner(backend=backend, prompts=prompts, settings=settings)

    async def answer(
        self,
        thread: Sequence[UndecodedMessage],
        *,
        channel_specialty: Specialty | None = None,
        request_id: str = "",
        on_text: TextCallback | None = None,
        on_position: QueueCallback | None = None,
        on_step: StepCallback | None = None,  # a series' or a slide's steps (.steps)
        notes: Sequence[Note] = (),
        language: str = ENGLISH,
    ) -> Answer:
        """Decode the thread's files, plan the request, generate the newest answer."""
        started = time.monotonic()
        decoded = await self._decode(thread)
        specialty = self._specialty(decoded.messages, channel_specialty)
        queue = QueueTimer(on_position)
        with StepReporter(first_steps(decoded.messages[-1].files), on_step).running() as steps:
            plan = self._planner.plan(
                decoded.messages, specialty=specialty, language=language, request_id=request_id
            )
            steps.advance()  # the images are ready: the model is asked
            shown = _shown(plan, on_text)
            generated = await self._generate(
                plan.conv, request_id=request_id, queue=queue, on_text=shown, started=started
            )
        conv = plan.conv
        stats = self._stats(decoded, conv, generated=generated, queue=queue)
        _log_answer(conv, generated=generated, stats=stats, request_id=request_id, started=started)
        self._advise(decoded, request_id=request_id)
        located, found_boxes = self._located(plan, generated.text, request_id=request_id)
        values = self._values(plan, generated.text, request_id=request_id, language=language)
        found = [
            *notes,
            *plan.notes,
            *answer_notes(decoded, conv, empty=not generated.text),
            *found_boxes,
            *values.notes,
            *cut_notes(generated.finish, limit=conv.max_new_tokens),
            *caveats(generated.text, specialty=specialty),
        ]
        return Answer(
            findings=values.findings or generated.text,
            notes=tuple(self._render(found, language=language)),
            stats=stats,
            seen=seen_images(conv),
            located=located,
            cut=generated.finish == "length",
            table=values.table,
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
        """The model request for the thread's newest message (a recipe where one applies)."""
        return self._planner.plan(thread, specialty=specialty, language=language).conv

    def _located(
        self, plan: Plan, findings: str, *, request_id: str
    ) -> tuple[Located | None, list[Note]]:
        """A localisation answer's boxes on its film, and the note that goes with them."""
        if plan.ability is not Ability.LOCATE or plan.film is None:
            return None, []
        boxes = parse_boxes(findings)
        event(log, "located", request_id=request_id, boxes=-1 if boxes is None else len(boxes))
        if not boxes:
            return None, [("boxes_unreadable", {})]
        if PrivacyFlag.BURNED_IN_ANNOTATION in plan.film.file.privacy_flags:
            return None, []  # no copy of an image flagged as showing patient details
        return Located(image=plan.film.image, boxes=boxes), [("boxes_drawn", {})]

    def _values(self, plan: Plan, findings: str, *, request_id: str, language: str) -> Values:
        """A values answer's table, checked against the PDF's text, and its notes."""
        if plan.ability is not Ability.EXTRACT or plan.document is None:
            return Values()
        read = extraction.parse_values(findings)
        pages = plan.document.text_layer[: plan.conv.image_count]  # the pages the model read
        has_text = any(page.strip() for page in pages)
        checked = extraction.check_values(read, pages) if read else None
        notes = extraction.value_notes(checked, has_text=has_text)
        unchecked = sum(1 for v in checked or () if v.in_text is False)
        rows = len(checked or ())
        event(log, "values_read", request_id=request_id, rows=rows, unchecked=unchecked)
        if not checked:
            return Values(notes=notes)
        headers = {k: self._prompts.text("lab_table", k, language=language) for k in _HEADERS}
        table = extraction.table_rows(checked, headers=headers)
        return Values(extraction.without_values(findings), table, notes)

    def _advise(self, decoded: DecodedThread, *, request_id: str) -> None:
        """Name the model trained on what was shared, for whoever runs the bot (logs only)."""
        better = model_advice(decoded.messages[-1].files, model=self._settings.model)
        if better is not None:
            event(
                log,
                "model_advice",
                level=logging.WARNING,
                request_id=request_id,
                model=self._settings.model,
                trained_model=better,
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
        finished: list[FinishReason] = []
        request = GenerationRequest(
            messages=conv.messages,
            max_new_tokens=conv.max_new_tokens,
            request_id=request_id,
            on_queue_position=queue,
            on_finish=finished.append,
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
            finish=finished[-1] if finished else "stop",
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
        finish=generated.finish,
    )
