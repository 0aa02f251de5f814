"""The app's Home tab: how to ask, what it reads, which model, privacy, and how busy it is.

Published (views.publish) each time someone opens the tab (`app_home_opened`), in
their language. The view is a pure function of the settings, the texts and the number
of questions this process is answering, so what a person sees is what a test sees.
It stays far inside Slack's limits (100 blocks, 3,000 characters a section, 150 a
header): nine to twelve blocks, each text cut to fit.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.logs import event
from bot.prompts import Prompts
from bot.settings import Settings
from bot.slack.deps import Deps
from bot.slack.surfaces.views import header, section
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code
from bot.slack.webapi.inert import escape

log = logging.getLogger(__name__)

HOME_TAB = "home"
CHANNELS_SHOWN = 100  # beyond this the list ends with "…" (a section holds 3,000 characters)


def busy_line(prompts: Prompts, *, language: str, in_progress: int, max_pending: int) -> str:
    """Whether the bot is free, working, or full right now."""
    if in_progress <= 0:
        return prompts.text("home", "state_idle", language=language)
    if in_progress >= max_pending:
        return prompts.text("home", "state_full", language=language)
    return prompts.text("home", "state_busy", language=language, count=in_progress)


def access_lines(prompts: Prompts, *, settings: Settings, language: str, viewer: str) -> list[str]:
    """Where the bot is enabled (when restricted), and what this viewer may not do."""
    contact = settings.admin_contact or prompts.text("access", "contact", language=language)
    lines = []
    if settings.allowed_channels:
        channels = sorted(settings.allowed_channels)
        where = ", ".join(f"<#{c}>" for c in channels[:CHANNELS_SHOWN])
        where += ", …" if len(channels) > CHANNELS_SHOWN else ""
        lines.append(prompts.text("home", "where", language=language, where=where))
    if settings.allowed_users and viewer not in settings.allowed_users:
        lines.append(prompts.text("access", "user", language=language, contact=contact))
    if not settings.allow_dms:
        lines.append(prompts.text("access", "dm", language=language, contact=contact))
    return lines


def home_view(
    prompts: Prompts, *, settings: Settings, language: str, in_progress: int, viewer: str
) -> dict[str, Any]:
    """The Home tab `viewer` sees, in `language`."""

    def text(key: str, **params: object) -> str:
        return prompts.text("home", key, language=language, **params)

    def titled(key: str, body: str) -> dict[str, Any]:
        return section(f"*{text(key + '_title')}*\n{body}", block_id=key)

    state = busy_line(
        prompts, language=language, in_progress=in_progress, max_pending=settings.max_pending
    )
    access = access_lines(prompts, settings=settings, language=language, viewer=viewer)
    model = text("model", model=escape(settings.model), backend=escape(settings.backend))
    supported = prompts.text("formats", "supported", language=language)
    return {
        "type": "home",
        "callback_id": HOME_TAB,
        "blocks": [
            header(text("title"), block_id="title"),
            section(text("intro"), block_id="intro"),
            section(state, block_id="state"),
            *[section(line, block_id=f"access-{n}") for n, line in enumerate(access, start=1)],
            {"type": "divider", "block_id": "divider"},
            titled("how", text("how")),
            titled("files", text("files", supported=supported)),
            titled("model", model),
            titled("privacy", text("privacy")),
            titled("disclaimer", prompts.disclaimer_in(language)),
        ],
    }


async def publish_home(deps: Deps, *, user: str) -> None:
    """Publish the Home tab for `user`, who just opened it."""
    language = await deps.names.language(user)
    view = home_view(
        deps.prompts,
        settings=deps.settings,
        language=language,
        in_progress=len(deps.jobs),
        viewer=user,
    )
    try:
        await deps.client.views_publish(user_id=user, view=view)
    except SLACK_FAILURES as exc:
        event(log, "home_failed", level=logging.WARNING, error=failure_code(exc))
        return
    event(log, "home_published", language=language, blocks=len(view["blocks"]))
