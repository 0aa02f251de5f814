"""The Stop button: whoever asked (or a workspace admin) stops an answer that waits or streams.

Where it lives: Slack's thread status (assistant.threads.setStatus) is text only, and a
stream's blocks stay in the finished message (chat.stopStream's `blocks` "will be
rendered at the bottom of the finalized message"; a `blocks` chunk is appended in
place), so the button sits on the bot's progress message under the question, which is
deleted when the answer is done. Slack's own stop button for agent sessions
(agents.sessions.setStatus "processing", the `agent_session_stopped` event) stops the
streams for whoever presses it, so it could not keep to "the asker only".

A press is acknowledged at once; then, off the listener: the allowlists (as on every
surface), then who pressed: the asker or a workspace admin (users.info's `is_admin` or
`is_owner`, with users:read) stops the answer, anyone else is told so privately. A stop
is a claim in the bot's state (ids only) and the same cancellation a deleted question
sends, so it reaches the replica answering it and cancels the model request there; that
replica finds the claim taken and ends the answer with one "stopped" line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.logs import event
from bot.prompts import Prompts
from bot.slack.deps import Deps
from bot.slack.jobs import SHUTDOWN, STOPPED
from bot.slack.question.access import interaction_is_direct
from bot.slack.question.routing import Route
from bot.slack.surfaces.ephemeral import tell, turned_away
from bot.slack.surfaces.views import is_id, plain, user_of

log = logging.getLogger(__name__)

STOP_ACTION = "stop_answer"
STOP_BLOCK = "stop"
STOP_TTL_S = 3600.0  # far longer than any answer may take


def _key(channel: str, ts: str) -> str:
    return f"stop:{channel}:{ts}"


def stop_block(
    prompts: Prompts, *, channel: str, ts: str, asker: str, language: str
) -> dict[str, Any]:
    """The actions block holding the Stop button of the question (channel, ts)."""
    return {
        "type": "actions",
        "block_id": STOP_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": STOP_ACTION,
                "text": plain(prompts.text("stop", "button", language=language), 75),
                "value": f"{channel} {ts} {asker}",  # ids only
            }
        ],
    }


def pressed(body: dict[str, Any]) -> tuple[str, str, str] | None:
    """(channel, question ts, asker) of a press; None when the value is not ids."""
    actions = body.get("actions") or [{}]
    parts = str(actions[0].get("value") or "").split(" ")
    if len(parts) != 3 or not all(is_id(p) for p in parts):
        return None
    channel, ts, asker = parts
    return channel, ts, asker


async def on_press(deps: Deps, body: dict[str, Any]) -> None:
    """Stop the answer for its asker or an admin; tell anyone else privately why not."""
    found, user = pressed(body), user_of(body)
    if found is None or not user:
        event(log, "stop_ignored", reason="unreadable")
        return
    channel, ts, asker = found
    thread_ts = str((body.get("container") or {}).get("thread_ts") or ts)
    direct = interaction_is_direct(body.get("channel") or {})
    if await turned_away(
        deps, channel=channel, user=user, direct=direct, thread_ts=thread_ts, surface="stop"
    ):
        return
    if user != asker and not await deps.names.is_admin(user):
        event(log, "stop_refused", channel=channel, message_ts=ts)
        language = await deps.names.language(user)
        text = deps.prompts.text("stop", "not_yours", language=language)
        await tell(deps, channel=channel, user=user, thread_ts=thread_ts, text=text)
        return
    await deps.state.claim(_key(channel, ts), ttl_s=STOP_TTL_S)
    event(
        log,
        "stop_pressed",
        channel=channel,
        message_ts=ts,
        by="asker" if user == asker else "admin",
    )
    await deps.state.cancel(channel, ts)  # every replica; the one answering stops


async def was_stopped(deps: Deps, channel: str, ts: str) -> bool:
    """Whether the Stop button (not a deletion) cancelled this question; ask once.

    The press claimed the key first, so claiming it here fails; after a deletion this
    claim succeeds, which also keeps a late press from reading as a stop.
    """
    return not await deps.state.claim(_key(channel, ts), ttl_s=STOP_TTL_S)


@asynccontextmanager
async def stoppable(deps: Deps, route: Route) -> AsyncIterator[None]:
    """Run a question's work; a cancellation by its Stop button leaves as STOPPED.

    A deletion and a stop arrive as the same cancellation; this asks the state once
    which it was, so the notice and the audit around it say "stopped" for a stop.
    """
    try:
        yield
    except asyncio.CancelledError as exc:
        if SHUTDOWN in exc.args or STOPPED in exc.args:
            raise
        if await asyncio.shield(was_stopped(deps, route.channel, route.ts)):
            raise asyncio.CancelledError(STOPPED) from None
        raise
