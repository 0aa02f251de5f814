"""Whatever goes wrong with one question becomes exactly one notice in its thread.

`reported(...)` wraps a question's work: a BotError gets its own fixed message, anything
else the generic one, a shutdown "please ask again"; a deleted question (cancelled
without a reason) gets nothing, since nobody is waiting for it. Logs get the error's
type and frames with the request id, never its text.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.errors import BotError, Busy, Restarting
from bot.logs import event
from bot.prompts import ENGLISH
from bot.slack.deps import Deps
from bot.slack.jobs import SHUTDOWN
from bot.slack.question.audit import refused
from bot.slack.question.routing import Route
from bot.slack.question.streaming import AnswerStream
from bot.slack.surfaces.ephemeral import refusal_text, tell
from bot.slack.webapi.posting import error_code, post_all
from bot.slack.webapi.replies import notice_message

log = logging.getLogger(__name__)


def new_request_id() -> str:
    """A short id users can quote and operators can find in the logs."""
    return secrets.token_hex(4).upper()


@asynccontextmanager
async def reported(
    deps: Deps, route: Route, request_id: str, *, stream: AnswerStream | None = None
) -> AsyncIterator[None]:
    """Run a question's work; turn its failure into one notice in the thread.

    When the answer was already streaming, the stream ends with the notice's last line
    instead: one final message either way. A deletion ends it quietly.
    """
    language = stream.language if stream is not None else ENGLISH
    where: dict[str, Any] = {
        "request_id": request_id,
        "channel": route.channel,
        "message_ts": route.ts,
    }
    try:
        yield
    except asyncio.CancelledError as exc:
        if SHUTDOWN in exc.args:
            event(log, "answer_interrupted", level=logging.WARNING, **where)
            await _tell(deps, route, Restarting(), request_id=request_id, stream=stream)
        elif stream is not None:  # deleted: end a started stream, say nothing else
            line = deps.prompts.text("stream", "deleted", language=language)
            await asyncio.shield(stream.abort(line, kind="deleted"))
        raise
    except BotError as exc:
        error = type(exc).__name__
        event(log, "answer_failed", level=logging.WARNING, exc_info=True, error=error, **where)
        await _tell(deps, route, exc, request_id=request_id, stream=stream)
    except Exception:
        event(log, "answer_crashed", level=logging.ERROR, exc_info=True, **where)
        await _tell(deps, route, BotError(), request_id=request_id, stream=stream)


async def _tell(
    deps: Deps, route: Route, error: BotError, *, request_id: str, stream: AnswerStream | None
) -> None:
    """The one message for a failure: an open stream's last line, or a notice."""
    language = stream.language if stream is not None else ENGLISH
    if stream is not None and stream.delivered:
        return  # the answer is there: a later failure (the contact sheet) is only logged
    if stream is not None:
        if isinstance(error, Restarting):
            line = deps.prompts.text("stream", "restarting", language=language)
        else:
            line = deps.prompts.text("stream", "failed", language=language, error_id=request_id)
        if await asyncio.shield(stream.abort(line, kind=_kind(error))):
            return
    await post_notice(deps, route, error, request_id=request_id, language=language)


def _kind(error: BotError) -> str:
    return {Busy: "busy", Restarting: "restarting"}.get(type(error), "error")


async def post_notice(
    deps: Deps, route: Route, error: BotError, *, request_id: str, language: str = ENGLISH
) -> None:
    """Post the fixed message for `error` in the question's thread (shielded)."""
    text = deps.prompts.error_text(error, error_id=request_id, language=language)
    kind = _kind(error)
    try:
        await asyncio.shield(
            post_all(
                deps.client,
                channel=route.channel,
                thread_ts=route.thread_ts,
                messages=[notice_message(text, kind=kind, request_id=request_id)],
            )
        )
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        code = error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
        event(log, "notice_failed", level=logging.ERROR, request_id=request_id, error=code)


async def post_busy(deps: Deps, route: Route) -> None:
    """Tell the asker the bot is full; a question is never dropped silently."""
    request_id = new_request_id()
    refused(deps, route, request_id=request_id)
    language = await deps.names.language(route.user)
    await post_notice(deps, route, Busy(), request_id=request_id, language=language)


async def post_refusal(deps: Deps, route: Route, reason: str) -> None:
    """Tell the asker, and only them, why the bot will not answer here and whom to ask."""
    refused(deps, route, request_id=new_request_id(), outcome="not_allowed",
            error=f"access_{reason}")  # fmt: skip
    language = await deps.names.language(route.user)
    text = refusal_text(deps, reason, language=language)
    await tell(deps, channel=route.channel, user=route.user, text=text, thread_ts=route.thread_ts)
