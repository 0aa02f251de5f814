"""Thumbs up / down on an answer, and the optional reason for a thumbs down.

Each answer ends with `feedback_buttons` whose values are "up:<request id>" and
"down:<request id>" (replies.py). A click records one structured event and one count
with ids only (request id, channel, rating) and thanks the person who clicked, in an
ephemeral message in their language. A thumbs down's thanks offers "Say why": a modal
with the [reasons] codes of bot/prompts/messages.toml, whose private_metadata holds ids
only; what its submission records is the chosen code, never text.

The same person's same rating of the same answer counts once (a second click, or a
payload delivered twice, does nothing). Ratings and reasons follow the allowlists like
questions do: someone they turn away is told so privately, and nothing is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.logs import event
from bot.prompts import Prompts
from bot.service.metrics import Rating
from bot.slack.deps import Deps
from bot.slack.question.access import interaction_is_direct
from bot.slack.surfaces.ephemeral import open_modal, tell, turned_away
from bot.slack.surfaces.views import input_state, is_id, pack, plain, section, unpack, user_of
from bot.slack.webapi.replies import FEEDBACK_ACTION

log = logging.getLogger(__name__)

RATING_ACTION = FEEDBACK_ACTION  # the answer's feedback buttons
REASON_ACTION = "feedback_reason"  # the "Say why" button
REASON_VIEW = "feedback_reason"  # the reason modal's callback_id
REASON_BLOCK = "reason"
REASON_SELECT = "reason"
ONCE_TTL_S = 30 * 24 * 3600.0  # one count per person, rating and answer
BUTTON_TEXT_LIMIT = 75
OPTION_TEXT_LIMIT = 75
LABEL_LIMIT = 2000


def parse_rating(value: str) -> tuple[Rating, str] | None:
    """("up" | "down", request id) from a feedback button's value; None for anything else."""
    rating, _, request_id = value.partition(":")
    if not is_id(request_id):
        return None
    if rating == "up":
        return "up", request_id
    if rating == "down":
        return "down", request_id
    return None


def reason_codes(prompts: Prompts) -> tuple[str, ...]:
    """The reasons a thumbs down may give: the keys of [reasons]."""
    return tuple(prompts.messages["reasons"])


def where_clicked(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(channel, thread ts or "") of the message whose button was clicked."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    thread_ts = container.get("thread_ts") or message.get("thread_ts") or ""
    if not is_id(channel) or not (thread_ts == "" or is_id(thread_ts)):
        return None
    return str(channel), str(thread_ts)


def thanks(prompts: Prompts, *, rating: Rating, request_id: str, language: str) -> dict[str, Any]:
    """The ephemeral thank-you (text and blocks); a thumbs down's offers "Say why"."""
    if rating == "up":
        return {"text": prompts.text("feedback", "thanks", language=language)}
    sorry = prompts.text("feedback", "sorry", language=language)
    why = {
        "type": "button",
        "action_id": REASON_ACTION,
        "text": plain(prompts.text("feedback", "tell_why", language=language), BUTTON_TEXT_LIMIT),
        "value": request_id,
    }
    return {
        "text": sorry,
        "blocks": [
            section(sorry, block_id="feedback-sorry"),
            {"type": "actions", "block_id": "feedback-why", "elements": [why]},
        ],
    }


def reason_modal(prompts: Prompts, *, language: str, metadata: str) -> dict[str, Any]:
    """The "why wasn't it helpful?" modal: one required choice among the [reasons]."""

    def text(key: str) -> str:
        return prompts.text("feedback", key, language=language)

    options = [
        {
            "text": plain(prompts.text("reasons", code, language=language), OPTION_TEXT_LIMIT),
            "value": code,
        }
        for code in reason_codes(prompts)
    ]
    choice = {"type": "static_select", "action_id": REASON_SELECT, "options": options}
    return {
        "type": "modal",
        "callback_id": REASON_VIEW,
        "title": plain(text("reason_title")),
        "submit": plain(text("reason_submit")),
        "close": plain(text("reason_cancel")),
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": plain(text("reason_label"), LABEL_LIMIT),
                "element": choice,
            }
        ],
    }


async def on_rating(deps: Deps, body: dict[str, Any]) -> None:
    """A click on the feedback buttons: recorded (ids only), counted, thanked."""
    action = (body.get("actions") or [{}])[0]
    parsed = parse_rating(str(action.get("value") or ""))
    where = where_clicked(body)
    user = user_of(body)
    if parsed is None or where is None or not is_id(user):
        event(log, "feedback_ignored", reason="not a rating of an answer")
        return
    rating, request_id = parsed
    channel, thread_ts = where
    if await _refused(deps, body, channel=channel, user=user, thread_ts=thread_ts):
        return
    ids: dict[str, Any] = {"request_id": request_id, "channel": channel, "rating": rating}
    if not await deps.state.claim(f"feedback:{request_id}:{user}:{rating}", ttl_s=ONCE_TTL_S):
        event(log, "feedback_repeated", **ids)
        return
    event(log, "feedback", **ids)
    deps.metrics.feedback(rating)
    language = await deps.names.language(user)
    reply = thanks(deps.prompts, rating=rating, request_id=request_id, language=language)
    await tell(deps, channel=channel, user=user, thread_ts=thread_ts, **reply)


async def open_reason(deps: Deps, body: dict[str, Any]) -> None:
    """A click on "Say why": the reason modal, its metadata the answer's ids."""
    action = (body.get("actions") or [{}])[0]
    request_id = str(action.get("value") or "")
    where = where_clicked(body)
    user = user_of(body)
    if not is_id(request_id) or where is None or not is_id(user):
        event(log, "feedback_ignored", reason="not a reason request")
        return
    channel, thread_ts = where
    if await _refused(deps, body, channel=channel, user=user, thread_ts=thread_ts):
        return
    language = await deps.names.language(user)
    metadata = pack({"r": request_id, "c": channel, "t": thread_ts})
    view = reason_modal(deps.prompts, language=language, metadata=metadata)
    await open_modal(deps, trigger_id=str(body.get("trigger_id") or ""), view=view)


async def on_reason(deps: Deps, body: dict[str, Any]) -> None:
    """The reason modal submitted: the code recorded and counted, the person thanked."""
    view = body.get("view") or {}
    ids = unpack(view, "r", "c", optional=("t",))
    chosen = input_state(view, REASON_BLOCK, REASON_SELECT).get("selected_option") or {}
    code = str(chosen.get("value") or "")
    user = user_of(body)
    valid = ids is not None and is_id(user) and is_id(view.get("id"))
    if ids is None or not valid or code not in reason_codes(deps.prompts):
        event(log, "feedback_ignored", reason="not a reason from the modal")
        return
    if await _refused(deps, body, channel=ids["c"], user=user, thread_ts=ids["t"]):
        return
    if not await deps.state.claim(f"feedback_reason:{view['id']}", ttl_s=ONCE_TTL_S):
        return  # the same submission delivered twice
    event(log, "feedback_reason", request_id=ids["r"], channel=ids["c"], reason=code)
    deps.metrics.feedback_reason(code)
    language = await deps.names.language(user)
    text = deps.prompts.text("feedback", "reason_thanks", language=language)
    await tell(deps, channel=ids["c"], user=user, thread_ts=ids["t"], text=text)


async def _refused(
    deps: Deps, body: Mapping[str, Any], *, channel: str, user: str, thread_ts: str
) -> bool:
    direct = interaction_is_direct(body.get("channel") or {"id": channel})
    return await turned_away(
        deps, channel=channel, user=user, direct=direct, thread_ts=thread_ts, surface="feedback"
    )
