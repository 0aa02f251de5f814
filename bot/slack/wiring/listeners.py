"""Thin Slack listeners: route the event, hand the work to a tracked task, return.

All work a question starts exists before the event is acknowledged (Bolt acknowledges
when the listener returns), and a reply in a thread the bot is not part of costs no
Slack call and never gets a message.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.logs import event as log_event
from bot.slack.deps import Deps
from bot.slack.question.access import refusal
from bot.slack.question.answering import answer_question
from bot.slack.question.reporting import post_busy, post_refusal
from bot.slack.question.routing import Route, route
from bot.slack.wiring import interactions

log = logging.getLogger(__name__)

DEDUPE_TTL_S = 3600.0  # Slack retries an event for about five minutes


async def handle(deps: Deps, body: dict[str, Any], event_type: str) -> None:
    """Route one event; start or cancel work."""
    event = body.get("event") or {}
    decision = route(event, event_type=event_type, bot_user_id=deps.identity.bot_user_id)
    log_event(
        log,
        "event",
        type=event_type,
        action=decision.action,
        reason=decision.reason,
        event_id=body.get("event_id"),
        channel=decision.channel or event.get("channel"),
        message_ts=decision.ts or event.get("ts"),
    )
    if decision.action == "cancel":
        await deps.state.cancel(decision.channel, decision.ts)
    elif decision.action != "ignore" and await _accept(deps, decision, body):
        _start(deps, decision)


async def _accept(deps: Deps, decision: Route, body: dict[str, Any]) -> bool:
    """Whether this event is a question for the bot that nobody is answering yet."""
    where: dict[str, Any] = {"channel": decision.channel, "message_ts": decision.ts}
    if decision.in_dm and decision.top_level:
        deps.arrivals.arrived(decision.channel, decision.user)
    if decision.action == "followup" and not await deps.state.in_thread(
        decision.channel, decision.thread_ts
    ):
        log_event(log, "ignored", reason="thread without the bot", **where)
        return False
    if not await deps.state.claim(f"q:{decision.channel}:{decision.ts}", ttl_s=DEDUPE_TTL_S):
        log_event(log, "duplicate", event_id=body.get("event_id"), **where)
        return False
    reason = refusal(
        deps.settings, channel=decision.channel, user=decision.user, in_dm=decision.in_dm
    )
    if reason is not None:
        # Told once per thread, privately; the model never sees the question.
        log_event(log, "refused", reason=reason, **where)
        told = f"refused:{decision.channel}:{decision.thread_ts}:{decision.user}"
        if await deps.state.claim(told, ttl_s=DEDUPE_TTL_S):
            deps.jobs.spawn(post_refusal(deps, decision, reason))
        return False
    # Asked into the thread: later replies there are for the bot, even before it answers.
    await deps.state.join_thread(decision.channel, decision.thread_ts)
    return True


def _start(deps: Deps, decision: Route) -> None:
    key = (decision.channel, decision.ts)
    if not deps.jobs.try_start(key, answer_question(deps, decision)):
        log_event(
            log,
            "busy",
            level=logging.WARNING,
            channel=key[0],
            message_ts=key[1],
            jobs=len(deps.jobs),
        )
        deps.jobs.spawn(post_busy(deps, decision))


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the listeners; every event type the app receives is acknowledged."""

    def cancel(channel: str, ts: str) -> None:
        deps.jobs.cancel((channel, ts))

    deps.state.on_cancel(cancel)

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any]) -> None:
        await handle(deps, body, "app_mention")

    @app.event("message")
    async def on_message(body: dict[str, Any]) -> None:
        await handle(deps, body, "message")

    interactions.register(app, deps)  # before the catch-all below, which would win

    @app.event(re.compile(".*"))
    async def on_other(body: dict[str, Any]) -> None:
        # Bolt leaves unmatched events unacknowledged and Slack would retry them.
        log_event(log, "event", type=(body.get("event") or {}).get("type"), action="ignore")
