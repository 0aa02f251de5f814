"""The Home tab: published when someone opens it, in their language, saying how busy."""

from __future__ import annotations

import dataclasses
import json

from bot.prompts import Prompts
from tests.e2e.harness import running_bot, wait_until
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_views import view_errors


def shows(view: dict | None, text: str) -> bool:
    """Whether `text` is somewhere in the view, as Slack would store it."""
    return json.dumps(text, ensure_ascii=False)[1:-1] in json.dumps(view, ensure_ascii=False)


async def test_home_tab_says_how_to_ask_what_runs_and_where(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    fake_slack.add_user("U1", "ana")
    env = {"MEDGEMMA_ALLOWED_CHANNELS": "C2,C1", "MEDGEMMA_ADMIN_CONTACT": "<#C9>"}
    async with running_bot(fake_slack, FakeBackend(), transport=transport, **env) as h:
        await h.deliver([fake_slack.interactive.home_opened(user="U1")])
        await h.settle()
        await h.deliver([fake_slack.interactive.home_opened(user="U1", tab="messages")])
        await h.settle()
    [published] = fake_slack.calls_to("views.publish")  # the Messages tab publishes nothing
    assert published["user_id"] == "U1"
    view = fake_slack.views.home_view("U1")
    assert view is not None and view["type"] == "home"
    assert view_errors(published["view"], kind="home") == []
    for expected in (
        prompts.text("home", "how_title"),
        prompts.text("formats", "supported"),
        "google/medgemma-1.5-4b-it (transformers backend)",
        prompts.text("home", "privacy_title"),
        prompts.disclaimer,
        prompts.text("home", "state_idle"),
        "Enabled in: <#C1>, <#C2>.",
    ):
        assert shows(view, expected), expected
    assert shows(view, "*Ask MedGemma*")  # the shortcut is explained
    assert shows(view, "Not for urgent or emergency use: the bot alerts no one.")


async def test_home_tab_shows_the_bot_busy_and_who_may_not_ask(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    backend = FakeBackend().then(Step(hang=True))
    env = {"MEDGEMMA_ALLOWED_USERS": "U1", "MEDGEMMA_DRAIN_S": "0"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        await h.ask("what do you see?")
        await wait_until(lambda: len(backend.requests) == 1)
        await h.deliver([fake_slack.interactive.home_opened(user="U2")])
        await wait_until(lambda: fake_slack.views.home_view("U2") is not None)
    view = fake_slack.views.home_view("U2")
    assert shows(view, prompts.text("home", "state_busy", count=1))
    assert shows(view, prompts.text("access", "user", contact=prompts.text("access", "contact")))


async def test_home_tab_is_in_the_viewers_language(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    # A Spanish catalog of our own: the real ones may not translate every key yet.
    spanish = {"disclaimer": "Aviso de prueba.", "home": {"how_title": "Cómo preguntar"}}
    texts = dataclasses.replace(prompts, catalogs={**prompts.catalogs, "es": spanish})
    fake_slack.add_user("U3", "eva", locale="es-ES")
    fake_slack.add_user("U4", "ann", locale="en-GB")
    async with running_bot(fake_slack, FakeBackend(), transport=transport, prompts=texts) as h:
        await h.deliver([fake_slack.interactive.home_opened(user=u) for u in ("U3", "U4")])
        await h.settle()
    asked = fake_slack.calls_to("users.info")
    assert [(a["user"], a["include_locale"]) for a in asked] == [("U3", "1"), ("U4", "1")]
    spanish_view = fake_slack.views.home_view("U3")
    assert shows(spanish_view, "Cómo preguntar") and shows(spanish_view, "Aviso de prueba.")
    # What the catalog lacks is in English.
    assert shows(spanish_view, prompts.text("home", "privacy_title"))
    english_view = fake_slack.views.home_view("U4")
    assert shows(english_view, prompts.text("home", "how_title"))
    assert shows(english_view, prompts.disclaimer)


async def test_home_tab_lets_you_ask_and_shows_the_limits_and_the_terms(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    env = {
        "MEDGEMMA_APP_NAME": "Radiology Teaching Bot",
        "MEDGEMMA_MAX_SLICES": "24",
        "MEDGEMMA_PDF_MAX_PAGES": "5",
    }
    async with running_bot(fake_slack, FakeBackend(), transport=transport, **env) as h:
        await h.deliver([fake_slack.interactive.home_opened(user="U1")])
        await h.settle()
    view = fake_slack.views.home_view("U1")
    assert view is not None and view_errors(view, kind="home") == []
    [ask] = [b for b in view["blocks"] if b.get("block_id") == "ask"]
    button = ask["accessory"]
    workspace = fake_slack.workspace
    assert button["url"] == (
        f"https://slack.com/app_redirect?app={workspace.app_id}&team={workspace.team_id}"
    )
    assert button["text"]["text"] == prompts.text("home", "ask_button")
    for expected in (
        "Radiology Teaching Bot",  # the title and the how-to follow the app's name
        "*@Radiology Teaching Bot is there a pneumothorax?*",
        "*Ask about images*",
        "up to 24 slices or frames",
        "the first 5 pages are read",
        "English, Deutsch, Español, Français, 日本語, Português (Brasil), 简体中文",
        "<https://huggingface.co/google/medgemma-1.5-4b-it|google/medgemma-1.5-4b-it>",
        "https://developers.google.com/health-ai-developer-foundations/terms",
        prompts.text("home", "where_all"),
    ):
        assert shows(view, expected), expected


async def test_home_tab_offers_no_dm_button_to_someone_who_may_not_ask_there(
    fake_slack: FakeSlack, transport: str
) -> None:
    env = {"MEDGEMMA_ALLOW_DMS": "false"}
    async with running_bot(fake_slack, FakeBackend(), transport=transport, **env) as h:
        await h.deliver([fake_slack.interactive.home_opened(user="U1")])
        await h.settle()
    view = fake_slack.views.home_view("U1")
    assert view is not None
    assert [b for b in view["blocks"] if b.get("block_id") == "ask"] == []
