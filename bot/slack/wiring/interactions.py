"""Thin listeners for what people do besides writing: buttons, modals, the shortcut, the
Home and Messages tabs, the Stop button.

Every interaction is acknowledged at once (Slack shows an error after 3 seconds, and
in Socket Mode an unacknowledged one is never answered); its work runs as a tracked
side task, so shutdown waits for it. Payloads arrive the same way in Socket Mode
(`interactive` envelopes) and over HTTP (form posts to the events URL), and Bolt
hands both to these listeners. Anything no listener here knows is acknowledged and
logged, never left to time out.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.logs import event as log_event
from bot.slack.deps import Deps
from bot.slack.surfaces import feedback, home, shortcut, stop, welcome

log = logging.getLogger(__name__)

ANY = re.compile(".*")


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the interaction and Home tab listeners (before any catch-all event listener)."""

    @app.action(feedback.RATING_ACTION)
    async def on_rating(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        deps.jobs.spawn(feedback.on_rating(deps, body))

    @app.action(feedback.REASON_ACTION)
    async def on_say_why(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        deps.jobs.spawn(feedback.open_reason(deps, body))

    @app.view(feedback.REASON_VIEW)
    async def on_reason(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()  # an empty answer closes the modal
        deps.jobs.spawn(feedback.on_reason(deps, body))

    @app.shortcut(shortcut.CALLBACK_ID)
    async def on_shortcut(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        deps.jobs.spawn(shortcut.on_shortcut(deps, body))

    @app.view(shortcut.CALLBACK_ID)
    async def on_question(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        deps.jobs.spawn(shortcut.on_submit(deps, body))

    @app.action(stop.STOP_ACTION)
    async def on_stop(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        deps.jobs.spawn(stop.on_press(deps, body))

    @app.action(home.OPEN_DM_ACTION)
    async def on_open_dm(ack: AsyncAck) -> None:
        await ack()  # a link button: Slack opens the DM, the app has nothing to do

    _register_home(app, deps)
    _register_catch_alls(app)


def _register_home(app: AsyncApp, deps: Deps) -> None:
    """The Home and Messages tabs, and the legacy Assistant view's new threads."""

    @app.event("app_home_opened")
    async def on_home(body: dict[str, Any]) -> None:
        opened = body.get("event") or {}
        user, tab = str(opened.get("user") or ""), opened.get("tab")
        log_event(log, "event", type="app_home_opened", tab=tab)
        if tab == home.HOME_TAB and user:
            deps.jobs.spawn(home.publish_home(deps, user=user))
        elif tab == welcome.MESSAGES_TAB and user and opened.get("channel"):
            channel = str(opened["channel"])
            deps.jobs.spawn(welcome.on_messages_tab(deps, user=user, channel=channel))

    @app.event("assistant_thread_started")
    async def on_assistant_thread(body: dict[str, Any]) -> None:
        thread = (body.get("event") or {}).get("assistant_thread") or {}
        user, channel = str(thread.get("user_id") or ""), str(thread.get("channel_id") or "")
        log_event(log, "event", type="assistant_thread_started")
        if user and channel and thread.get("thread_ts"):
            thread_ts = str(thread["thread_ts"])
            deps.jobs.spawn(
                welcome.on_messages_tab(deps, user=user, channel=channel, thread_ts=thread_ts)
            )


def _register_catch_alls(app: AsyncApp) -> None:
    """Acknowledge what no listener knows (a button of an older version, say)."""

    @app.action(ANY)
    async def other_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        log_event(log, "interaction", type="block_actions", action="ignore")

    @app.view(ANY)
    async def other_view(ack: AsyncAck) -> None:
        await ack()
        log_event(log, "interaction", type="view_submission", action="ignore")

    @app.shortcut(ANY)
    async def other_shortcut(ack: AsyncAck) -> None:
        await ack()
        log_event(log, "interaction", type="shortcut", action="ignore")
