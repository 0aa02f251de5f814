"""The Messages tab: suggested prompts each time it opens, a welcome the first time.

With `agent_view` the bot's Messages tab is where its conversations happen, and opening
it sends `app_home_opened` with tab "messages"; suggested prompts set then, without a
thread, "pin to the top of the Messages tab" (docs.slack.dev/ai/
migrating-to-agent-messaging and bolt-python's "Adding agent features"). The legacy
Assistant view sends `assistant_thread_started` for each new thread instead, and its
prompts are set on that thread.

The welcome is posted once per person: a claim in the bot's state holding the user's
id only (a year; with the in-memory state a restart may welcome someone again). Both
follow the allowlists: someone who may not ask the bot in a DM gets the access note
once, privately, and no prompts.
"""

from __future__ import annotations

import logging

from bot.logs import event
from bot.slack.deps import Deps
from bot.slack.question.access import refusal
from bot.slack.surfaces.ephemeral import refusal_text, tell
from bot.slack.surfaces.suggestions import as_slack, welcome_prompts
from bot.slack.webapi.failures import best_effort
from bot.slack.webapi.replies import notice_message

log = logging.getLogger(__name__)

MESSAGES_TAB = "messages"
WELCOMED_TTL_S = 365 * 24 * 3600.0


async def on_messages_tab(deps: Deps, *, user: str, channel: str, thread_ts: str = "") -> None:
    """Someone opened the bot's DM (or, legacy view, a new thread in it): greet and suggest."""
    language = await deps.names.language(user)
    reason = refusal(deps.settings, channel=channel, user=user, in_dm=True)
    if reason is not None:
        if await deps.state.claim(f"welcome:{user}", ttl_s=WELCOMED_TTL_S):
            event(log, "refused", surface="messages_tab", reason=reason)
            text = refusal_text(deps, reason, language=language)
            await tell(deps, channel=channel, user=user, text=text, thread_ts=thread_ts)
        return
    await deps.assistant.suggest(
        channel=channel,
        thread_ts=thread_ts,
        title=deps.prompts.text("suggest", "title", language=language),
        prompts=as_slack(welcome_prompts(deps.prompts, language=language)),
    )
    if await deps.state.claim(f"welcome:{user}", ttl_s=WELCOMED_TTL_S):
        await welcome(deps, channel=channel, thread_ts=thread_ts, language=language)


async def welcome(deps: Deps, *, channel: str, thread_ts: str, language: str) -> None:
    """Post the welcome in the DM (in the legacy view's new thread, when there is one)."""
    text = deps.prompts.text("welcome", "text", language=language, name=deps.settings.app_name)
    message = notice_message(text, kind="welcome")
    event(log, "welcomed", language=language)
    with best_effort(log, "welcome_failed"):  # a lost welcome is only missed, never doubled
        await deps.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts or None, unfurl_links=False, **message
        )
