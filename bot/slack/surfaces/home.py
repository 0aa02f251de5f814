"""The app's Home tab: ask from it, how to ask, the limits, the model and its terms.

Published (views.publish) each time someone opens the tab (`app_home_opened`), in
their language. The view is a pure function of the settings, the texts and the number
of questions this process is answering, so what a person sees is what a test sees.
It stays far inside Slack's limits (100 blocks, 3,000 characters a section, 150 a
header, 75 a button's text): up to sixteen blocks, each text cut to fit.

"Ask about an image" opens the DM with the bot: a link button to Slack's
`app_redirect?app=<app id>` ("Opening a direct message with your app or bot",
api.slack.com/docs/deep-linking), shown only to someone the allowlists let ask there
and only when the app's id is known (bots.info, with users:read). The texts name the
app and its shortcut as the manifest does (MEDGEMMA_APP_NAME).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.logs import event
from bot.prompts import Prompts
from bot.settings import Settings
from bot.slack.deps import Deps
from bot.slack.question.access import refusal
from bot.slack.surfaces.names import shortcut_name
from bot.slack.surfaces.views import header, plain, section
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code
from bot.slack.webapi.inert import escape
from bot.slack.webapi.posts import Identity

log = logging.getLogger(__name__)

HOME_TAB = "home"
OPEN_DM_ACTION = "open_dm"
CHANNELS_SHOWN = 100  # beyond this the list ends with "…" (a section holds 3,000 characters)
TERMS_URL = "https://developers.google.com/health-ai-developer-foundations/terms"
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # an org/name model id on the Hub


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
    else:
        lines.append(prompts.text("home", "where_all", language=language))
    if settings.allowed_users and viewer not in settings.allowed_users:
        lines.append(prompts.text("access", "user", language=language, contact=contact))
    if not settings.allow_dms:
        lines.append(prompts.text("access", "dm", language=language, contact=contact))
    return lines


def dm_link(identity: Identity) -> str:
    """Slack's link that opens a DM with the app; "" when the app's id is unknown."""
    if not identity.app_id:
        return ""
    team = f"&team={identity.team_id}" if identity.team_id else ""
    return f"https://slack.com/app_redirect?app={identity.app_id}{team}"


def limits_text(prompts: Prompts, *, settings: Settings, language: str) -> str:
    """What the bot reads at most, and the languages it speaks."""
    names = [prompts.text("language", "name", language=code) for code in prompts.languages]
    return prompts.text(
        "home",
        "limits",
        language=language,
        file_mb=f"{settings.max_file_mb:g}",
        images=settings.max_images,
        slices=settings.max_slices,
        patches=settings.pathology_patches,
        pages=settings.pdf_max_pages,
        languages=", ".join(names),
    )


def links_text(prompts: Prompts, *, settings: Settings, language: str) -> str:
    """The model card (for a Hub model id) and Google's terms of use, as links."""
    model = escape(settings.model)
    card = (
        f"<https://huggingface.co/{model}|{model}>" if _HUB_ID.fullmatch(settings.model) else model
    )
    terms = f"<{TERMS_URL}|Health AI Developer Foundations>"
    return prompts.text("home", "links", language=language, card=card, terms=terms)


def ask_blocks(
    prompts: Prompts, *, settings: Settings, language: str, viewer: str, link: str
) -> list[dict[str, Any]]:
    """ "Ask about an image": a button opening the DM, for someone who may ask there."""
    if not link or refusal(settings, channel="", user=viewer, in_dm=True) is not None:
        return []
    text = f"*{prompts.text('home', 'ask_title', language=language)}*\n"
    button = {
        "type": "button",
        "action_id": OPEN_DM_ACTION,
        "text": plain(prompts.text("home", "ask_button", language=language), 75),
        "url": link,
        "style": "primary",
    }
    block = section(text + prompts.text("home", "ask", language=language), block_id="ask")
    return [{**block, "accessory": button}]


def home_view(
    prompts: Prompts,
    *,
    settings: Settings,
    language: str,
    in_progress: int,
    viewer: str,
    dm_url: str = "",
) -> dict[str, Any]:
    """The Home tab `viewer` sees, in `language` (`dm_url`: the link to the bot's DM)."""
    names = {"name": escape(settings.app_name), "shortcut": shortcut_name(settings.app_name)}

    def text(key: str, **params: object) -> str:
        return prompts.text("home", key, language=language, **names, **params)

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
            *ask_blocks(prompts, settings=settings, language=language, viewer=viewer, link=dm_url),
            {"type": "divider", "block_id": "divider"},
            titled("how", text("how")),
            titled("files", text("files", supported=supported)),
            titled("limits", limits_text(prompts, settings=settings, language=language)),
            titled("model", model),
            titled("links", links_text(prompts, settings=settings, language=language)),
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
        dm_url=dm_link(deps.identity),
    )
    try:
        await deps.client.views_publish(user_id=user, view=view)
    except SLACK_FAILURES as exc:
        event(log, "home_failed", level=logging.WARNING, error=failure_code(exc))
        return
    event(log, "home_published", language=language, blocks=len(view["blocks"]))
