"""The agent experience's pure parts: names, help words, suggested prompts, titles."""

from __future__ import annotations

import pytest

from bot.pipeline.abilities import Ability, Detector
from bot.pipeline.messages import Answer
from bot.prompts import Prompts
from bot.slack.surfaces.followups import thread_title
from bot.slack.surfaces.help import is_help
from bot.slack.surfaces.names import shortcut_name
from bot.slack.surfaces.suggestions import as_slack, follow_up_prompts, welcome_prompts


@pytest.mark.parametrize(
    ("name", "shortcut"),
    [
        ("MedGemma", "Ask MedGemma"),
        ("Radiology Bot Twenty", "Ask Radiology Bot Twenty"),  # 24 exactly
        ("Radiology Teaching Bot", "Ask about images"),
    ],
)
def test_the_shortcut_name_fits_slacks_24_characters(name: str, shortcut: str) -> None:
    assert shortcut_name(name) == shortcut
    assert len(shortcut_name(name)) <= 24


@pytest.mark.parametrize(
    "text",
    ["", "  ", "help", "HELP!", "Help ?", "What can you do?", "aide", "Hilfe", "帮助", "ヘルプ"],
)
def test_help_words_in_every_language(prompts: Prompts, text: str) -> None:
    assert is_help(prompts, text)


@pytest.mark.parametrize(
    "text", ["help me read this CT", "is there a pneumothorax?", "helpful?", "continue"]
)
def test_a_question_is_not_help(prompts: Prompts, text: str) -> None:
    assert not is_help(prompts, text)


def test_every_catalog_has_as_many_help_words(prompts: Prompts) -> None:
    counts = {len(prompts.texts("help", "words", language=code)) for code in prompts.languages}
    assert counts == {4}


def test_the_welcome_offers_four_prompts_slack_accepts(prompts: Prompts) -> None:
    for language in prompts.languages:
        prompts_ = as_slack(welcome_prompts(prompts, language=language))
        assert len(prompts_) == 4
        assert all(p["title"] and p["message"] for p in prompts_)


def test_suggested_prompts_call_up_medgemmas_abilities_in_every_language(
    prompts: Prompts,
) -> None:
    detector = Detector.of(prompts.abilities.triggers)
    for language in prompts.languages:

        def asks(key: str, language: str = language) -> Ability | None:
            return detector.asks(prompts.text("suggest", key, language=language))

        assert asks("where") is Ability.LOCATE, language
        assert asks("prior") is Ability.COMPARE, language
        assert asks("continue") is Ability.CONTINUE, language
        assert asks("describe") is asks("student") is asks("ct") is None, language


def test_follow_ups_offer_continue_first_after_a_cut_answer(prompts: Prompts) -> None:
    whole = follow_up_prompts(prompts, Answer("ok"), language="en")
    cut = follow_up_prompts(prompts, Answer("ok", cut=True), language="en")
    assert [m for _, m in whole] == [
        prompts.text("suggest", k) for k in ("student", "where", "prior")
    ]
    assert [m for _, m in cut] == [
        prompts.text("suggest", k) for k in ("continue", "student", "where", "prior")
    ]


def test_a_thread_title_is_one_inert_line_cut_at_a_word() -> None:
    long = "<@UBOT> is there a pneumothorax " + "or an effusion " * 10 + "\nsecond line"
    title = thread_title(long, bot_user_id="UBOT")
    assert title.startswith("is there a pneumothorax or an effusion")
    assert title.endswith("…") and len(title) <= 61 and "\n" not in title
    assert "<!channel>" not in thread_title("hi <!channel> &amp; all", bot_user_id="UBOT")
