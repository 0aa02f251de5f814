"""Thin Slack listeners: route the event, hand the work to a tracked task, return."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.logs import event as log_event
from bot.slack.answering import answer_question
from bot.slack.deps import Deps
from bot.slack.reporting import post_busy
from bot.slack.routing import route

log = logging.getLogger(__name__)


def handle(deps: Deps, body: dict[str, Any], event_type: str) -> None:
    """Route one event; start or cancel work. Synchronous: Slack is acknowledged at once."""
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
        deps.jobs.cancel((decision.channel, decision.ts))
        return
    if decision.action == "ignore":
        return
    key = (decision.channel, decision.ts)
    if not deps.seen.first_time(key):
        log_event(
            log, "duplicate", event_id=body.get("event_id"), channel=key[0], message_ts=key[1]
        )
        return
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

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any]) -> None:
        handle(deps, body, "app_mention")

    @app.event("message")
    async def on_message(body: dict[str, Any]) -> None:
        handle(deps, body, "message")

    @app.event(re.compile(".*"))
    async def on_other(body: dict[str, Any]) -> None:
        # Bolt leaves unmatched events unacknowledged and Slack would retry them.
        log_event(log, "event", type=(body.get("event") or {}).get("type"), action="ignore")
