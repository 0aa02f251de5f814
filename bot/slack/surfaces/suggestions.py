"""Suggested prompts: what a person may click to ask, in their language (pure).

Slack shows at most four prompts at a time, each a title and the message it sends
(assistant.threads.setSuggestedPrompts: "up to four suggested prompts"; the manifest's
`suggested_prompts`: maxItems 4). Their messages carry the words that call up MedGemma
1.5's abilities in that language (bot/prompts/abilities.toml): "where is" for boxes,
"prior" for a comparison, "continue" for the rest of a cut answer.
"""

from __future__ import annotations

from bot.pipeline.messages import Answer
from bot.prompts import Prompts

LIMIT = 4
# The [suggest] prompts, in the order the welcome offers them (the first four fit).
WELCOME = ("describe", "student", "ct", "prior", "where")
# After an answer: what usually comes next, never the question just asked again.
FOLLOW_UPS = ("student", "where", "prior")
CONTINUE = "continue"


def prompt(prompts: Prompts, key: str, *, language: str) -> tuple[str, str]:
    """One prompt's (title, message) in `language`."""
    title = prompts.text("suggest", f"{key}_title", language=language)
    return title, prompts.text("suggest", key, language=language)


def welcome_prompts(prompts: Prompts, *, language: str) -> list[tuple[str, str]]:
    """The prompts offered when someone opens the Messages tab (the first four)."""
    return [prompt(prompts, key, language=language) for key in WELCOME[:LIMIT]]


def follow_up_prompts(prompts: Prompts, answer: Answer, *, language: str) -> list[tuple[str, str]]:
    """The prompts offered after an answer: "continue" first when it was cut."""
    keys = ([CONTINUE] if answer.cut else []) + list(FOLLOW_UPS)
    return [prompt(prompts, key, language=language) for key in keys[:LIMIT]]


def as_slack(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The `prompts` argument of setSuggestedPrompts."""
    return [{"title": title, "message": message} for title, message in pairs[:LIMIT]]
