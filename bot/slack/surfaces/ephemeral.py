"""What one person sees alone: ephemeral messages (thanks, refusals, hints) and modals.

An ephemeral message (chat.postEphemeral) is shown to its recipient only, in that
conversation (in the thread with `thread_ts`), and Slack does not keep it: it is never
part of a thread the bot reads back. A modal (views.open) needs the `trigger_id` of
the interaction that asked for it, valid for 3 seconds and once.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.logs import event
from bot.slack.deps import Deps
from bot.slack.question.access import refusal
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code

log = logging.getLogger(__name__)

# views.open's answers for a trigger that came too late, twice or never.
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"})


async def tell(
    deps: Deps,
    *,
    channel: str,
    user: str,
    text: str,
    thread_ts: str = "",
    blocks: list[dict[str, Any]] | None = None,
) -> bool:
    """Show `text` (and `blocks`) to `user` alone; False when Slack refused it."""
    try:
        await deps.client.chat_postEphemeral(
            channel=channel, user=user, text=text, blocks=blocks, thread_ts=thread_ts or None
        )
    except SLACK_FAILURES as exc:
        code = failure_code(exc)
        event(log, "ephemeral_failed", level=logging.WARNING, channel=channel, error=code)
        return False
    return True


async def open_modal(deps: Deps, *, trigger_id: str, view: dict[str, Any]) -> str:
    """Open `view` for the person whose interaction gave `trigger_id`; "" or Slack's error."""
    try:
        await deps.client.views_open(trigger_id=trigger_id, view=view)
    except SLACK_FAILURES as exc:
        code = failure_code(exc)
        callback_id = view.get("callback_id")
        event(log, "modal_failed", level=logging.WARNING, callback_id=callback_id, error=code)
        return code
    return ""


def refusal_text(deps: Deps, key: str, *, language: str) -> str:
    """The [access] message for `key` ("channel", "user", "dm"), naming who to ask."""
    contact = deps.settings.admin_contact or deps.prompts.text(
        "access", "contact", language=language
    )
    return deps.prompts.text("access", key, language=language, contact=contact)


async def turned_away(
    deps: Deps, *, channel: str, user: str, direct: bool, thread_ts: str, surface: str
) -> bool:
    """Tell `user` privately why not when the allowlists turn them away here; True then.

    Every surface (a question, the shortcut, feedback and its reason) asks this same
    question, so someone the allowlists refuse cannot act through another one.
    """
    key = refusal(deps.settings, channel=channel, user=user, in_dm=direct)
    if key is None:
        return False
    event(log, "refused", surface=surface, channel=channel, reason=key)
    language = await deps.names.language(user)
    text = refusal_text(deps, key, language=language)
    await tell(deps, channel=channel, user=user, thread_ts=thread_ts, text=text)
    return True
