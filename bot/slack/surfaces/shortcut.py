"""The "Ask MedGemma" message shortcut: a question about any message's images.

Someone picks the shortcut on a message (images shared before the bot was mentioned,
or by someone else). A person who may not ask there is told so, and a message
without readable files gets "no images", both as ephemeral messages and before any
modal; otherwise a modal asks for the question. Its private_metadata holds the
channel id, the message ts and its thread's ts only.

On submission the same checks run again against the message as Slack now has it
(read back: it may have been deleted or edited meanwhile), the submission is claimed
once (by view id), the thread is joined so follow-ups there are answered, and the
question is answered like a mention: in the message's thread, with that message's
images, through the same bounded jobs (busy: the busy notice).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.logs import event
from bot.prompts import Prompts
from bot.slack.deps import Deps
from bot.slack.question import history, threads
from bot.slack.question.access import interaction_is_direct, refusal
from bot.slack.question.routing import Route
from bot.slack.question.start import begin
from bot.slack.surfaces.ephemeral import TRIGGER_ERRORS, open_modal, tell, turned_away
from bot.slack.surfaces.names import shortcut_name
from bot.slack.surfaces.views import input_state, is_id, pack, plain, unpack, user_of
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code
from bot.slack.wiring.manifest import ASK_SHORTCUT

log = logging.getLogger(__name__)

CALLBACK_ID = ASK_SHORTCUT  # the shortcut's and the modal's callback_id
QUESTION_BLOCK = "question"
QUESTION_INPUT = "question"
QUESTION_LIMIT = 3000  # plain_text_input's largest max_length
DEDUPE_TTL_S = 3600.0
LABEL_LIMIT = 2000
PLACEHOLDER_LIMIT = 150


def readable(message: Mapping[str, Any]) -> bool:
    """Whether a message has files the bot can read: a person's uploads, not links."""
    if message.get("bot_id") or message.get("subtype") == "bot_message":
        return False  # the thread's reading leaves other apps' (and its own) messages out
    return any(
        f.get("mode") not in history.SKIPPED_FILE_MODES and f.get("file_access") != "access_denied"
        for f in message.get("files") or []
    )


def question_modal(prompts: Prompts, *, language: str, metadata: str) -> dict[str, Any]:
    """The modal that asks for the question."""

    def text(key: str) -> str:
        return prompts.text("shortcut", key, language=language)

    element = {
        "type": "plain_text_input",
        "action_id": QUESTION_INPUT,
        "multiline": True,
        "max_length": QUESTION_LIMIT,
        "placeholder": plain(text("placeholder"), PLACEHOLDER_LIMIT),
    }
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": plain(text("title")),
        "submit": plain(text("submit")),
        "close": plain(text("cancel")),
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": QUESTION_BLOCK,
                "label": plain(text("label"), LABEL_LIMIT),
                "element": element,
            }
        ],
    }


def _channel_type(channel: str, *, direct: bool) -> str:
    if channel.startswith("D"):
        return "im"
    return "mpim" if direct else "channel"


async def _turned_away(
    deps: Deps,
    *,
    channel: str,
    user: str,
    direct: bool,
    message: Mapping[str, Any] | None,
    where: str,
) -> bool:
    """Tell the person why not (ephemeral) when they may not ask or there is no image."""
    if await turned_away(
        deps, channel=channel, user=user, direct=direct, thread_ts=where, surface="shortcut"
    ):
        return True
    if message is not None and readable(message):
        return False
    event(log, "shortcut_without_images", channel=channel)
    language = await deps.names.language(user)
    text = deps.prompts.text("shortcut", "no_images", language=language)
    await tell(deps, channel=channel, user=user, thread_ts=where, text=text)
    return True


async def on_shortcut(deps: Deps, body: dict[str, Any]) -> None:
    """The shortcut picked on a message: turned away, or the question modal opened."""
    user = user_of(body)
    channel = str((body.get("channel") or {}).get("id") or "")
    message = body.get("message") or {}
    ts = str(message.get("ts") or body.get("message_ts") or "")
    thread_ts = str(message.get("thread_ts") or ts)
    if not (is_id(user) and is_id(channel) and is_id(ts) and is_id(thread_ts)):
        event(log, "shortcut_ignored", reason="no message")
        return
    # A reply is looked at in its thread; a top-level message in the channel.
    where = thread_ts if thread_ts != ts else ""
    direct = interaction_is_direct(body.get("channel") or {})
    turned: dict[str, Any] = {"channel": channel, "user": user, "direct": direct, "where": where}
    if await _turned_away(deps, message=message, **turned):
        return
    language = await deps.names.language(user)
    # "g": a group DM, which the submission's payload no longer names.
    metadata = pack({"c": channel, "m": ts, "t": thread_ts, "g": "1" if direct else ""})
    view = question_modal(deps.prompts, language=language, metadata=metadata)
    failed = await open_modal(deps, trigger_id=str(body.get("trigger_id") or ""), view=view)
    if failed in TRIGGER_ERRORS:  # Slack was too slow to hand it over: ask to try again
        shortcut = shortcut_name(deps.settings.app_name)  # as the manifest names it
        text = deps.prompts.text("shortcut", "expired", language=language, shortcut=shortcut)
        await tell(deps, channel=channel, user=user, thread_ts=where, text=text)


async def _target(deps: Deps, *, channel: str, ts: str, thread_ts: str) -> dict[str, Any] | None:
    """The message as Slack has it now (None when it is gone or cannot be read)."""
    try:
        if ts == thread_ts:
            response = await deps.client.conversations_history(
                channel=channel, latest=ts, inclusive=True, limit=1
            )
            messages = [m for m in response.get("messages") or [] if isinstance(m, dict)]
        else:
            messages = await threads.fetch_thread(
                deps.client, channel=channel, thread_ts=thread_ts, until_ts=ts
            )
    except SLACK_FAILURES as exc:
        code = failure_code(exc)
        event(log, "shortcut_unreadable", level=logging.WARNING, channel=channel, error=code)
        return None
    return next((m for m in messages if m.get("ts") == ts), None)


async def _route(deps: Deps, body: dict[str, Any]) -> Route | None:
    """The question a submitted modal asks, checked; None when it is not to be answered."""
    view = body.get("view") or {}
    ids = unpack(view, "c", "m", "t", optional=("g",))
    user = user_of(body)
    question = str(input_state(view, QUESTION_BLOCK, QUESTION_INPUT).get("value") or "").strip()
    if ids is None or not is_id(user) or not is_id(view.get("id")) or not question:
        event(log, "shortcut_ignored", reason="not a question from the modal")
        return None
    channel, ts, thread_ts = ids["c"], ids["m"], ids["t"]
    direct = channel.startswith("D") or ids["g"] == "1"
    if not await deps.state.claim(f"shortcut:{view['id']}", ttl_s=DEDUPE_TTL_S):
        event(log, "duplicate", channel=channel, message_ts=ts)
        return None
    target = None
    if refusal(deps.settings, channel=channel, user=user, in_dm=direct) is None:
        target = await _target(deps, channel=channel, ts=ts, thread_ts=thread_ts)
    where = thread_ts if thread_ts != ts else ""
    turned: dict[str, Any] = {"channel": channel, "user": user, "direct": direct, "where": where}
    if await _turned_away(deps, message=target, **turned):
        return None
    where_to = {"channel": channel, "ts": ts, "thread_ts": thread_ts, "user": user}
    return Route(
        "answer",
        "shortcut",
        channel_type=_channel_type(channel, direct=direct),
        message=target or {},
        question=question,
        **where_to,
    )


async def on_submit(deps: Deps, body: dict[str, Any]) -> None:
    """The question modal submitted: answered in the message's thread."""
    route = await _route(deps, body)
    if route is None:
        return
    where: dict[str, Any] = {"channel": route.channel, "message_ts": route.ts}
    event(log, "event", type="message_action", action="answer", reason="shortcut", **where)
    await begin(deps, route)
