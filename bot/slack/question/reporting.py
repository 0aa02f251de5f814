"""Whatever goes wrong with one question becomes exactly one notice in its thread.

`reported(...)` wraps a question's work: a BotError gets its own fixed message, anything
else the generic one, a shutdown "please ask again", a stop (its Stop button) one
"stopped" line; a deleted question (cancelled without a reason) gets nothing, since
nobody is waiting for it. Nothing to answer (a bare mention) is not an error: it gets
the how-to, without a warning or an error id. Logs get the error's
type and frames with the request id, never its text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.errors import BotError, Busy, BusyChannel, BusyPerson, NothingToAnswer, Restarting
from bot.logs import event
from bot.slack.deps import Deps
from bot.slack.jobs import SHUTDOWN, STOPPED
from bot.slack.question.asked import Asked, new_request_id
from bot.slack.question.audit import refused
from bot.slack.question.routing import Route
from bot.slack.question.streaming import AnswerStream
from bot.slack.surfaces.ephemeral import refusal_text, tell
from bot.slack.surfaces.help import post_help
from bot.slack.webapi.failures import best_effort
from bot.slack.webapi.posting import post_all
from bot.slack.webapi.replies import notice_message

log = logging.getLogger(__name__)


@asynccontextmanager
async def reported(deps: Deps, stream: AnswerStream) -> AsyncIterator[None]:
    """Run a question's work; turn its failure into one notice in the thread.

    When the answer was already streaming, the stream ends with the notice's last line
    instead: one final message either way. A deletion ends it quietly.
    """
    asked = stream.asked
    where: dict[str, Any] = {
        "request_id": asked.request_id,
        "channel": asked.route.channel,
        "message_ts": asked.route.ts,
    }
    try:
        yield
    except asyncio.CancelledError as exc:
        if SHUTDOWN in exc.args:
            event(log, "answer_interrupted", level=logging.WARNING, **where)
            await _tell(deps, stream, Restarting())
        elif STOPPED in exc.args:  # its Stop button: one "stopped" line either way
            event(log, "answer_stopped", **where)
            await asyncio.shield(_stopped(deps, stream))
        else:  # deleted: end a started stream, say nothing else
            line = deps.prompts.text("stream", "deleted", language=asked.language)
            await asyncio.shield(stream.abort(line, kind="deleted"))
        raise
    except NothingToAnswer:  # a bare mention in a thread without images: help, no error
        event(log, "help_given", **where)
        await post_help(deps, asked.route, language=asked.language)
    except BotError as exc:
        error = type(exc).__name__
        event(log, "answer_failed", level=logging.WARNING, exc_info=True, error=error, **where)
        await _tell(deps, stream, exc)
    except Exception:
        event(log, "answer_crashed", level=logging.ERROR, exc_info=True, **where)
        await _tell(deps, stream, BotError())


async def _tell(deps: Deps, stream: AnswerStream, error: BotError) -> None:
    """The one message for a failure: an open stream's last line, or a notice."""
    if stream.delivered:
        return  # the answer is there: a later failure (the contact sheet) is only logged
    asked = stream.asked
    if isinstance(error, Restarting):
        line = deps.prompts.text("stream", "restarting", language=asked.language)
    else:
        line = deps.prompts.text(
            "stream", "failed", language=asked.language, error_id=asked.request_id
        )
    if await asyncio.shield(stream.abort(line, kind=_kind(error))):
        return
    await post_notice(deps, asked, error)


async def _stopped(deps: Deps, stream: AnswerStream) -> None:
    """End a stopped answer: its stream's last line, or a short notice when none started."""
    asked = stream.asked
    line = deps.prompts.text("stream", "stopped", language=asked.language)
    if await stream.abort(line, kind="stopped"):
        return
    text = deps.prompts.text("stop", "stopped", language=asked.language)
    notice = notice_message(text, kind="stopped", request_id=asked.request_id)
    where = {"channel": asked.route.channel, "thread_ts": asked.route.thread_ts}
    with best_effort(log, "notice_failed", request_id=asked.request_id):
        await post_all(deps.client, **where, messages=[notice])


def _kind(error: BotError) -> str:
    if isinstance(error, Busy):
        return "busy"
    return "restarting" if isinstance(error, Restarting) else "error"


async def post_notice(deps: Deps, asked: Asked, error: BotError) -> None:
    """Post the fixed message for `error` in the question's thread (shielded)."""
    request_id, route = asked.request_id, asked.route
    text = deps.prompts.error_text(error, error_id=request_id, language=asked.language)
    notice = notice_message(text, kind=_kind(error), request_id=request_id)
    where = {"channel": route.channel, "thread_ts": route.thread_ts}
    with best_effort(log, "notice_failed", level=logging.ERROR, request_id=request_id):
        await asyncio.shield(post_all(deps.client, **where, messages=[notice]))


async def post_busy(deps: Deps, route: Route, reason: str = "busy") -> None:
    """Tell the asker why the line did not take the question; never dropped silently.

    `reason`: "person" or "channel" (its limit of questions in flight), else "busy".
    """
    asked = await Asked.of(deps, route)
    limits = deps.jobs.line.limits
    error: Busy = Busy()
    if reason == "person":
        error = BusyPerson(count=limits.per_person)
    elif reason == "channel":
        error = BusyChannel(count=limits.per_channel)
    refused(deps, route, request_id=asked.request_id, error=type(error).__name__)
    await post_notice(deps, asked, error)


async def post_refusal(deps: Deps, route: Route, reason: str) -> None:
    """Tell the asker, and only them, why the bot will not answer here and whom to ask."""
    error = f"access_{reason}"
    refused(deps, route, request_id=new_request_id(), outcome="not_allowed", error=error)
    language = await deps.names.language(route.user)
    text = refusal_text(deps, reason, language=language)
    await tell(deps, channel=route.channel, user=route.user, text=text, thread_ts=route.thread_ts)
