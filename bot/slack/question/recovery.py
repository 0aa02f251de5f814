"""Finishing what a killed process left: each question it was answering, exactly once.

The state holds the ids of questions in progress. At start-up the bot reads each
orphan's thread: a question already answered (or told to ask again) is only
forgotten; otherwise the dead process's partial posts are removed and the question is
answered again. A question that was already being recovered when its process died gets
"please ask again" instead, so one input that brings the bot down cannot do it twice.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.errors import Restarting
from bot.logs import event
from bot.slack.deps import Deps
from bot.slack.question import threads
from bot.slack.question.answering import answer_question
from bot.slack.question.asked import Asked
from bot.slack.question.audit import recovered
from bot.slack.question.reporting import post_notice
from bot.slack.question.routing import Route
from bot.slack.webapi.posts import posts_of, replied
from bot.state import Question

log = logging.getLogger(__name__)

RECOVERY_CLAIM_TTL_S = 24 * 3600.0


async def recover(deps: Deps) -> int:
    """Start recovering every orphaned question; how many were taken on."""
    taken = 0
    for question in await deps.state.orphans():
        # The attempt too: a replica that dies recovering hands on the next attempt.
        key = f"recover:{question.channel}:{question.ts}:{question.request_id}:{question.attempt}"
        if not await deps.state.claim(key, ttl_s=RECOVERY_CLAIM_TTL_S):
            continue  # another replica has it
        work = _finish(deps, question)
        where = (question.channel, question.ts)
        if deps.jobs.start(where, work, person=question.user, channel=question.channel) is None:
            taken += 1
    if taken:
        event(log, "recovering", questions=taken)
    return taken


async def _finish(deps: Deps, question: Question) -> None:
    where: dict[str, Any] = {"channel": question.channel, "message_ts": question.ts}
    thread = await threads.fetch_thread(
        deps.client, channel=question.channel, thread_ts=question.thread_ts
    )
    original = next((m for m in thread if m.get("ts") == question.ts), None)
    posts = posts_of(thread, question.request_id)  # the dead process's, by their metadata
    if original is None or replied(posts):
        event(log, "recovered", outcome="nothing to do", **where)
        recovered(deps, question, "deleted" if original is None else "already_answered")
        await deps.state.finish(question.channel, question.ts)
        return
    for post in posts:  # a half-posted answer or a stale placeholder
        await deps.client.chat_delete(channel=question.channel, ts=str(post["ts"]))
    route = Route(
        "answer",
        "recovered",
        channel=question.channel,
        ts=question.ts,
        thread_ts=question.thread_ts,
        user=question.user,
        channel_type="im" if question.channel.startswith("D") else "channel",
        message=original,
    )
    # A shortcut's question was typed into a modal: Slack does not have it to read again.
    if question.attempt >= 1 or question.kind == "shortcut":
        event(log, "recovered", outcome="ask again", **where)
        recovered(deps, question, "ask_again")
        asked = await Asked.of(deps, route, request_id=question.request_id)
        await post_notice(deps, asked, Restarting())
        await deps.state.finish(question.channel, question.ts)
        return
    event(log, "recovered", outcome="answering again", **where)
    recovered(deps, question, "answering_again")
    await answer_question(deps, route, attempt=question.attempt + 1)
