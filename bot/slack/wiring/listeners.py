"""Thin Slack listeners: route the event, hand the work to a tracked task, return.

All work a question starts exists before the event is acknowledged (Bolt acknowledges
when the listener returns), and a reply in a thread the bot is not part of costs no
Slack call and never gets a message. A delivery for another workspace or app is
acknowledged and dropped before any listener sees it (`access.foreign`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.logs import event as log_event
from bot.slack.deps import Deps
from bot.slack.question.access import foreign
from bot.slack.question.start import on_event
from bot.slack.wiring import interactions

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the listeners; every event type the app receives is acknowledged."""

    def cancel(channel: str, ts: str) -> None:
        deps.jobs.cancel((channel, ts))

    deps.state.on_cancel(cancel)

    # Bolt passes these by name: `next` must be called so.
    async def for_this_app(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        reason = foreign(body, deps.identity)
        if reason is None:
            await next()
            return None
        kind = (body.get("event") or {}).get("type") or body.get("type")
        log_event(log, "dropped", level=logging.WARNING, reason=reason, type=kind)
        return BoltResponse(status=200, body="")  # acknowledged, and nothing done

    app.use(for_this_app)

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any]) -> None:
        await on_event(deps, body, "app_mention")

    @app.event("message")
    async def on_message(body: dict[str, Any]) -> None:
        await on_event(deps, body, "message")

    interactions.register(app, deps)  # before the catch-all below, which would win

    @app.event(re.compile(".*"))
    async def on_other(body: dict[str, Any]) -> None:
        # Bolt leaves unmatched events unacknowledged and Slack would retry them.
        log_event(log, "event", type=(body.get("event") or {}).get("type"), action="ignore")
