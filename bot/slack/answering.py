"""One question, start to finish: thread -> pipeline -> answer (or one notice)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.errors import BotError, Busy
from bot.imaging import SUPPORTED_FORMATS
from bot.logs import event
from bot.pipeline import IncomingMessage
from bot.slack import history
from bot.slack.deps import Deps
from bot.slack.jobs import SHUTDOWN
from bot.slack.progress import Progress
from bot.slack.replies import answer_messages, notice_message, post_all
from bot.slack.routing import Route

log = logging.getLogger(__name__)


def new_error_id() -> str:
    """A short id users can quote and operators can find in the logs."""
    return secrets.token_hex(4).upper()


async def answer_question(deps: Deps, route: Route) -> None:
    """Answer the message `route` points at, in its thread; never raises."""
    request_id = new_error_id()
    started = time.monotonic()
    progress: Progress | None = None
    try:
        thread = await history.fetch_thread(
            deps.client, channel=route.channel, thread_ts=route.thread_ts, until_ts=route.ts
        )
        if route.action == "followup" and not history.bot_answered(thread, deps.identity):
            event(
                log, "ignored", reason="thread without the bot", channel=route.channel, ts=route.ts
            )
            return
        progress = Progress(
            client=deps.client,
            channel=route.channel,
            thread_ts=route.thread_ts,
            prompts=deps.prompts,
        )
        await progress.start()
        answer = await deps.pipeline.answer(
            await _incoming(deps, thread),
            fetch=deps.files.fetch,
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
        event(
            log,
            "reply_posted",
            request_id=request_id,
            channel=route.channel,
            ts=route.ts,
            seconds=round(time.monotonic() - started, 3),
        )
    except asyncio.CancelledError as exc:
        if SHUTDOWN in exc.args:
            await _notice(deps, route, "restarting", request_id, kind="restarting")
        raise
    except BotError as exc:
        log.warning(
            "answer_failed",
            exc_info=True,
            extra={
                "fields": {
                    "request_id": request_id,
                    "channel": route.channel,
                    "ts": route.ts,
                    "error": type(exc).__name__,
                    "detail": exc.detail,
                }
            },
        )
        await _notice(deps, route, exc, request_id, kind="error")
    except Exception:
        log.error(
            "answer_crashed",
            exc_info=True,
            extra={"fields": {"request_id": request_id, "channel": route.channel, "ts": route.ts}},
        )
        await _notice(deps, route, BotError(), request_id, kind="error")
    finally:
        if progress is not None:
            await asyncio.shield(progress.done())


async def _incoming(deps: Deps, thread: list[dict[str, Any]]) -> list[IncomingMessage]:
    people = history.authors(thread, deps.identity)
    names = await history.speaker_names(people, deps.names.lookup) if len(people) > 1 else {}
    return history.to_incoming(thread, identity=deps.identity, names=names, file_ref=deps.files.ref)


async def _notice(
    deps: Deps, route: Route, error: BotError | str, request_id: str, *, kind: str
) -> None:
    if isinstance(error, BotError):
        text = deps.prompts.error_text(error, error_id=request_id, supported=SUPPORTED_FORMATS)
    else:
        message = deps.prompts.text("errors", error)
        text = deps.prompts.text("format", "error", message=message, error_id=request_id)
    try:
        await asyncio.shield(
            post_all(
                deps.client,
                channel=route.channel,
                thread_ts=route.thread_ts,
                messages=[notice_message(text, kind=kind)],
            )
        )
    except SlackApiError as exc:
        error_code = exc.response.get("error") if exc.response else None
        event(log, "notice_failed", level=logging.ERROR, request_id=request_id, error=error_code)


async def post_busy(deps: Deps, route: Route) -> None:
    """Tell the asker the bot is full; a question is never dropped silently."""
    await _notice(deps, route, Busy(), new_error_id(), kind="busy")
