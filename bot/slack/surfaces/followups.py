"""After an answer in a DM: suggested follow-ups, and a title for a new thread.

Where Slack offers them: the assistant thread methods work in the bot's DM (the agent's
Messages tab, or the legacy Assistant view's threads), not in channels. The follow-ups
offer what usually comes next (explain for a student, where is it, compare with the
prior; "continue" first when the answer was cut); the title is the first question's
words (the asker's own, in their DM's history list), cut short and made inert. Both
are best effort: an answer never waits on them or fails for them.
"""

from __future__ import annotations

import html

from bot.pipeline.messages import Answer
from bot.slack.deps import Deps
from bot.slack.question.asked import Asked
from bot.slack.question.routing import strip_mention
from bot.slack.surfaces.suggestions import as_slack, follow_up_prompts
from bot.slack.webapi.inert import inert

TITLE_CHARS = 60


def thread_title(text: str, *, bot_user_id: str) -> str:
    """A thread's title from its first question: one line, cut at a word, inert."""
    words = html.unescape(strip_mention(text, bot_user_id)).strip().split("\n")[0].strip()
    if len(words) > TITLE_CHARS:
        cut = words.rfind(" ", 0, TITLE_CHARS)
        words = words[: cut if cut > TITLE_CHARS // 2 else TITLE_CHARS].rstrip() + "…"
    return inert(words)


async def after_answer(deps: Deps, asked: Asked, answer: Answer) -> None:
    """Offer follow-ups (and name a new thread) where the question was asked in a DM."""
    route = asked.route
    if not route.in_dm or route.question:
        return
    language = asked.language
    pairs = follow_up_prompts(deps.prompts, answer, language=language)
    await deps.assistant.suggest(
        channel=route.channel,
        thread_ts=route.thread_ts,
        title=deps.prompts.text("suggest", "follow_up_title", language=language),
        prompts=as_slack(pairs),
    )
    if route.top_level:
        text = str(route.message.get("text") or "")
        title = thread_title(text, bot_user_id=deps.identity.bot_user_id)
        if title:
            await deps.assistant.title(
                channel=route.channel, thread_ts=route.thread_ts, title=title
            )
