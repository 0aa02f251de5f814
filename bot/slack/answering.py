"""One question, start to finish: thread -> pipeline -> answer (or one notice)."""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.logs import event
from bot.slack import history
from bot.slack.deps import Deps
from bot.slack.progress import Progress
from bot.slack.replies import answer_messages, post_all
from bot.slack.reporting import new_request_id, reported
from bot.slack.routing import Route
from bot.thread import UndecodedMessage

log = logging.getLogger(__name__)


async def answer_question(deps: Deps, route: Route) -> None:
    """Answer the message `route` points at, in its thread; never raises."""
    request_id = new_request_id()
    started = time.monotonic()
    async with reported(deps, route, request_id):
        thread = await history.fetch_thread(
            deps.client, channel=route.channel, thread_ts=route.thread_ts, until_ts=route.ts
        )
        if route.action == "followup" and not history.bot_answered(thread, deps.identity):
            reason = "thread without the bot"
            event(log, "ignored", reason=reason, channel=route.channel, message_ts=route.ts)
            return
        progress = Progress(
            client=deps.client,
            channel=route.channel,
            thread_ts=route.thread_ts,
            prompts=deps.prompts,
        )
        async with progress:
            answer = await deps.pipeline.answer(
                await _incoming(deps, thread),
                channel_specialty=deps.settings.channel_specialties.get(route.channel),
                request_id=request_id,
                on_position=progress.place_in_line,
            )
            await post_all(
                deps.client,
                channel=route.channel,
                thread_ts=route.thread_ts,
                messages=answer_messages(answer, prompts=deps.prompts),
            )
        seconds = round(time.monotonic() - started, 3)
        event(log, "reply_posted", request_id=request_id, channel=route.channel, seconds=seconds)


async def _incoming(deps: Deps, thread: list[dict[str, Any]]) -> list[UndecodedMessage]:
    """The thread as the pipeline's messages, speakers named when several people talk."""
    people = history.authors(thread, deps.identity)
    names = await history.speaker_names(people, deps.names.lookup) if len(people) > 1 else {}
    return history.to_incoming(
        thread, identity=deps.identity, names=names, file_of=deps.downloads.file
    )
