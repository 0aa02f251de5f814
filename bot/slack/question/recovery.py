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
from bot.slack.question import history
from bot.slack.question.answering import answer_question
from bot.slack.question.audit import recovered
from bot.slack.question.reporting import post_notice
from bot.slack.question.routing import Route
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
        if deps.jobs.try_start((question.channel, question.ts), _finish(deps, question)):
            taken += 1
    if taken:
        event(log, "recovering", questions=taken)
    return taken


def _ours(messages: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    """The dead process's posts for this question, found by their metadata."""
    found = []
    for message in messages:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("request_id") == request_id:
            found.append(message)
    return found


def _replied(posts: list[dict[str, Any]]) -> bool:
    """A complete answer, or a notice the user can act on, is already there."""
    parts = [p["metadata"]["event_payload"] for p in posts]
    answer_parts = {p.get("part") for p in parts if "part" in p}
    if parts and any(p.get("kind") not in (None, "progress") for p in parts):
        return True
    total = next((p.get("parts") for p in parts if "parts" in p), None)
    return total is not None and len(answer_parts) == total


async def _finish(deps: Deps, question: Question) -> None:
    where: dict[str, Any] = {"channel": question.channel, "message_ts": question.ts}
    thread = await history.fetch_thread(
        deps.client, channel=question.channel, thread_ts=question.thread_ts
    )
    asked = next((m for m in thread if m.get("ts") == question.ts), None)
    posts = _ours(thread, question.request_id)
    if asked is None or _replied(posts):
        event(log, "recovered", outcome="nothing to do", **where)
        recovered(deps, question, "deleted" if asked is None else "already_answered")
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
        message=asked,
    )
    # A shortcut's question was typed into a modal: Slack does not have it to read again.
    if question.attempt >= 1 or question.kind == "shortcut":
        event(log, "recovered", outcome="ask again", **where)
        recovered(deps, question, "ask_again")
        await post_notice(deps, route, Restarting(), request_id=question.request_id)
        await deps.state.finish(question.channel, question.ts)
        return
    event(log, "recovered", outcome="answering again", **where)
    recovered(deps, question, "answering_again")
    await answer_question(deps, route, attempt=question.attempt + 1)
