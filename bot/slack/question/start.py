"""Whether an event is a question for the bot, decided once, and its answer started.

The listeners hand every `message` and `app_mention` event here: routed (a pure
decision), then checked against what the bot keeps (a reply in a thread the bot is not
part of costs no Slack call; a retried or doubled delivery is claimed once) and the
allowlists (someone turned away is told once per thread, privately). A question then
starts as tracked work, or gets "busy" when the bot is full. The shortcut starts the
questions typed into its modal through the same `begin`.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.logs import event
from bot.slack.deps import Deps
from bot.slack.question.access import refusal
from bot.slack.question.answering import answer_question
from bot.slack.question.reporting import post_busy, post_refusal
from bot.slack.question.routing import Route, route
from bot.slack.surfaces.help import post_help, wants_help

log = logging.getLogger(__name__)

DEDUPE_TTL_S = 3600.0  # Slack retries an event for about five minutes


async def on_event(deps: Deps, body: dict[str, Any], event_type: str) -> None:
    """Route one event; start or cancel work."""
    payload = body.get("event") or {}
    decision = route(payload, event_type=event_type, bot_user_id=deps.identity.bot_user_id)
    event(
        log,
        "event",
        type=event_type,
        action=decision.action,
        reason=decision.reason,
        event_id=body.get("event_id"),
        channel=decision.channel or payload.get("channel"),
        message_ts=decision.ts or payload.get("ts"),
    )
    if decision.action == "cancel":
        await deps.state.cancel(decision.channel, decision.ts)
    elif decision.action != "ignore" and await _accepted(deps, decision, body):
        await begin(deps, decision)


async def _accepted(deps: Deps, decision: Route, body: dict[str, Any]) -> bool:
    """Whether this event is a question for the bot that nobody is answering yet."""
    where: dict[str, Any] = {"channel": decision.channel, "message_ts": decision.ts}
    if decision.in_dm and decision.top_level:
        deps.arrivals.arrived(decision.channel, decision.user)
    if decision.action == "followup" and not await deps.state.in_thread(
        decision.channel, decision.thread_ts
    ):
        event(log, "ignored", reason="thread without the bot", **where)
        return False
    if not await deps.state.claim(f"q:{decision.channel}:{decision.ts}", ttl_s=DEDUPE_TTL_S):
        event(log, "duplicate", event_id=body.get("event_id"), **where)
        return False
    reason = refusal(
        deps.settings, channel=decision.channel, user=decision.user, in_dm=decision.direct
    )
    if reason is not None:
        # Told once per thread, privately; the model never sees the question.
        event(log, "refused", reason=reason, **where)
        told = f"refused:{decision.channel}:{decision.thread_ts}:{decision.user}"
        if await deps.state.claim(told, ttl_s=DEDUPE_TTL_S):
            deps.jobs.spawn(post_refusal(deps, decision, reason))
        return False
    return True


async def begin(deps: Deps, question: Route) -> None:
    """Join the question's thread (later replies there are for the bot), then answer it.

    The answer runs as tracked work, waiting in line for its slot; a question the line
    does not take (its asker's or channel's limit, or a long wait) gets a busy notice
    saying which, never nothing.
    """
    await deps.state.join_thread(question.channel, question.thread_ts)
    if wants_help(deps, question):  # nothing to look at: the how-to, not a place in line
        deps.jobs.spawn(post_help(deps, question))
        return
    key = (question.channel, question.ts)
    work = answer_question(deps, question)
    refused = deps.jobs.start(key, work, person=question.user, channel=question.channel)
    where: dict[str, Any] = {"channel": key[0], "message_ts": key[1]}
    if refused == "duplicate":
        event(log, "duplicate", **where)
    elif refused is not None:
        line = deps.jobs.line
        wait_s = round(line.expected_wait_s(question.user), 1)
        event(
            log,
            "busy",
            level=logging.WARNING,
            reason=refused,
            jobs=len(line),
            wait_s=wait_s,
            **where,
        )
        deps.jobs.spawn(post_busy(deps, question, refused))
