"""One question, start to finish: thread -> pipeline -> answer (or one notice)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any

from bot.errors import FilesSkipped
from bot.logs import event
from bot.pipeline.conversation import Note
from bot.pipeline.messages import UndecodedMessage
from bot.slack.deps import Deps
from bot.slack.question import history
from bot.slack.question.access import admitted
from bot.slack.question.asked import Asked
from bot.slack.question.audit import QuestionRecord, audited
from bot.slack.question.progress import Progress
from bot.slack.question.reading import read_question
from bot.slack.question.reporting import reported
from bot.slack.question.routing import Route
from bot.slack.question.sheets import post_boxes, post_sheet
from bot.slack.question.streaming import AnswerStream
from bot.slack.surfaces.followups import after_answer
from bot.slack.surfaces.names import shortcut_name
from bot.slack.surfaces.stop import stop_block, stoppable
from bot.slack.webapi.posting import post_all
from bot.slack.webapi.replies import question_message
from bot.state import Question

log = logging.getLogger(__name__)


async def answer_question(deps: Deps, route: Route, *, attempt: int = 0) -> None:
    """Answer the message `route` points at, in its thread; never raises.

    The question is recorded (ids only) while it is answered, so that if this process
    dies the next one finishes it.
    """
    asked = await Asked.of(deps, route)
    question = Question(
        channel=route.channel,
        ts=route.ts,
        thread_ts=route.thread_ts,
        user=route.user,
        request_id=asked.request_id,
        started_at=time.time(),
        owner=deps.replica,
        attempt=attempt,
        kind="shortcut" if route.question else "message",
    )
    await deps.state.begin(question)
    files = len(route.message.get("files") or [])
    try:
        stream = AnswerStream(deps, asked)
        async with (
            reported(deps, stream),
            audited(deps, question, files=files) as record,
            stoppable(deps, route),
        ):
            async with (
                deps.turns.turn((route.channel, route.thread_ts)),
                _slot(deps, asked) as shown,
            ):
                await _answer(deps, asked, stream, record=record, progress=shown)
    finally:
        await deps.state.finish(route.channel, route.ts)


def _progress(deps: Deps, asked: Asked, *, place: int = 0, images: bool = True) -> Progress:
    """The thread's status for this question (`place`: its place in line, 0: working),
    and its Stop button."""
    route = asked.route
    stop = stop_block(
        deps.prompts, channel=route.channel, ts=route.ts, asker=route.user, language=asked.language
    )
    return Progress(
        client=deps.client,
        status_client=deps.status_client,
        channel=asked.route.channel,
        thread_ts=asked.route.thread_ts,
        prompts=deps.prompts,
        request_id=asked.request_id,
        language=asked.language,
        place=place,
        images=images,
        stop=stop,
    )


@asynccontextmanager
async def _slot(deps: Deps, asked: Asked) -> AsyncIterator[Progress | None]:
    """Hold the question's answer slot; while it waits in line, its place is the status.

    The status shown while waiting stays on for the answer (None: there was no wait).
    """
    key = (asked.route.channel, asked.route.ts)
    ticket = deps.jobs.ready(key)
    if ticket.granted.is_set():
        yield None
        return
    place = deps.jobs.line.ahead_of(key) + 1
    images = bool(asked.route.message.get("files"))
    async with _progress(deps, asked, place=place, images=images) as progress:
        ticket.on_place = lambda ahead: progress.place_in_line(ahead + 1)
        await ticket.granted.wait()
        ticket.on_place = None
        progress.place_in_line(0)
        yield progress


async def _answer(
    deps: Deps,
    asked: Asked,
    stream: AnswerStream,
    *,
    record: QuestionRecord,
    progress: Progress | None,
) -> None:
    started, route = time.monotonic(), asked.route
    if route.question:  # typed into the shortcut's modal: show it in the thread
        await _show_question(deps, asked)
    read = await read_question(deps, route)
    if read is None:
        record.outcome = "merged"
        return  # a DM image answered together with the question that followed it
    thread, notes = await _incoming(deps, asked, read.messages)
    if read.left_out:
        notes.insert(0, ("thread_window", {}))
    images = any(message.files for message in thread)
    if progress is not None:
        progress.has_images(images)
    async with (
        nullcontext(progress) if progress else _progress(deps, asked, images=images)
    ) as progress:
        stream.on_start = progress.streaming
        answer = await deps.pipeline.answer(
            thread,
            channel_specialty=deps.settings.channel_specialties.get(route.channel),
            request_id=asked.request_id,
            on_text=stream.push,
            on_step=stream.show_steps,
            on_position=record.watch(progress.place_in_line),
            notes=notes,
            language=asked.language,
        )
        record.answered(answer.stats)
        await stream.finish(answer)
        record.posted()
    seconds = round(time.monotonic() - started, 3)
    event(log, "reply_posted", request_id=asked.request_id, channel=route.channel, seconds=seconds)
    await after_answer(deps, asked, answer)
    await post_boxes(deps, asked, answer)
    await post_sheet(deps, asked, answer)


async def _show_question(deps: Deps, asked: Asked) -> None:
    route = asked.route
    who = f"<@{route.user}>"
    shortcut = shortcut_name(deps.settings.app_name)  # as the manifest names it
    line = deps.prompts.text(
        "shortcut", "asked", language=asked.language, user=who, shortcut=shortcut
    )
    message = question_message(route.question, user=route.user, asked=line)
    await post_all(
        deps.client, channel=route.channel, thread_ts=route.thread_ts, messages=[message]
    )


async def _incoming(
    deps: Deps, asked: Asked, raw: list[dict[str, Any]]
) -> tuple[list[UndecodedMessage], list[Note]]:
    """The thread as the pipeline's messages, speakers named when several people talk."""
    if deps.settings.allowed_users:
        picked = asked.route.ts if asked.route.question else ""  # the shortcut's message
        raw = history.admitted_only(
            raw,
            admitted=lambda user: admitted(deps.settings, user),
            identity=deps.identity,
            keep=picked,
        )
    people = history.authors(raw, deps.identity)
    names = await history.speaker_names(people, deps.names.lookup) if len(people) > 1 else {}
    thread = history.to_incoming(
        raw,
        identity=deps.identity,
        names=names,
        file_of=deps.downloads.file,
        disclaimers=deps.prompts.disclaimers,
    )
    notes: list[Note] = []
    if skipped := history.skipped_files(raw[-1]):
        if not thread or thread[-1].role != "user" or not (thread[-1].text or thread[-1].files):
            raise FilesSkipped("the question's only files are links, snippets or posts")
        notes.append(("files_skipped", {"count": skipped}))
    return thread, notes
