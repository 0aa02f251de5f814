"""Help as help: a bare mention, or "help" in any language the bot speaks, gets the how-to.

Decided before the question waits in line or shows a status (nothing is looked at), and
posted as a plain notice in the thread: no warning icon, no error id. The words are
each catalog's [help] words, matched whole, case, punctuation and spacing aside; a
message with files is always a question. The texts follow the app's name
(MEDGEMMA_APP_NAME) and its shortcut's name, as the manifest makes them.
"""

from __future__ import annotations

import logging
import re

from bot.logs import event
from bot.prompts import Prompts
from bot.settings import Settings
from bot.slack.deps import Deps
from bot.slack.question.routing import Route, strip_mention
from bot.slack.surfaces.names import shortcut_name
from bot.slack.webapi.failures import best_effort
from bot.slack.webapi.posting import post_all
from bot.slack.webapi.replies import notice_message

log = logging.getLogger(__name__)

# Spaces and punctuation, the full-width forms Chinese and Japanese use included.
_NOISE = re.compile("[\\s?!.,:;\u00bf\u00a1\u2026\u3002\uff1f\uff01\uff0c\uff1a\uff1b]+")


def normalised(text: str) -> str:
    """`text` lowercased, its punctuation and spacing reduced to single spaces."""
    return _NOISE.sub(" ", text.lower()).strip()


def help_words(prompts: Prompts) -> frozenset[str]:
    """Every catalog's help words, normalised."""
    found: set[str] = set()
    for language in prompts.languages:
        found.update(normalised(w) for w in prompts.texts("help", "words", language=language))
    return frozenset(found - {""})


def is_help(prompts: Prompts, text: str) -> bool:
    """Whether a message's text (its mention of the bot removed) asks for help."""
    words = normalised(text)
    return not words or words in help_words(prompts)


def wants_help(deps: Deps, route: Route) -> bool:
    """A question that is a request for the how-to: no files, and help or nothing said.

    An empty reply in a thread is left to the thread (it may hold images to describe);
    the pipeline's "nothing to answer" then gets this same how-to.
    """
    if route.question or route.message.get("files"):
        return False
    text = strip_mention(str(route.message.get("text") or ""), deps.identity.bot_user_id)
    if not normalised(text) and not route.top_level:
        return False
    return is_help(deps.prompts, text)


def help_text(prompts: Prompts, settings: Settings, *, language: str) -> str:
    """The how-to in `language`, naming the app and its shortcut as Slack shows them."""
    names = {"name": settings.app_name, "shortcut": shortcut_name(settings.app_name)}
    files = prompts.text("formats", "supported", language=language)
    return "\n".join(
        [
            prompts.text("help", "intro", language=language, **names),
            prompts.text("home", "how", language=language, **names),
            f"*{prompts.text('home', 'files_title', language=language)}*: {files}.",
        ]
    )


async def post_help(deps: Deps, route: Route, *, language: str | None = None) -> None:
    """Post the how-to in the question's thread (a notice of kind "help"), in the asker's
    language (looked up when not given)."""
    language = language or await deps.names.language(route.user)
    text = help_text(deps.prompts, deps.settings, language=language)
    message = notice_message(text, kind="help")
    deps.metrics.outcome("help")
    event(log, "help", channel=route.channel, message_ts=route.ts)
    with best_effort(log, "notice_failed"):
        await post_all(
            deps.client, channel=route.channel, thread_ts=route.thread_ts, messages=[message]
        )
