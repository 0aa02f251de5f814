"""The translation catalogs in bot/prompts/locales/: each one matches messages.toml.

Every catalog found in the folder is checked, so a new language is covered as soon as
its file exists: the same sections and keys, the same placeholders in each text, the
same Slack markup, a translated disclaimer, and texts that fit where Slack shows them.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import DEFAULT_PROMPTS

PROMPTS = DEFAULT_PROMPTS
LOCALES = PROMPTS / "locales"
REQUIRED = ("zh-CN", "es", "fr", "de", "ja", "pt-BR")

# Texts that may equal the English one in a catalog, and why.
SAME_AS_ENGLISH = {
    ("home", "title"),  # the product name alone
    ("home", "files"),  # only the placeholder and a full stop
    ("format", "note"),  # an emoji code and the placeholder
    ("format", "speaker"),  # two placeholders and a colon
    ("kinds", "pdf"),  # a format's name, the same in German, French, Spanish, Portuguese
}

# Where Slack caps a text (modal titles and buttons, button texts and labels, option
# texts, input placeholders); longer ones make views.open or chat.postMessage fail.
SLACK_LIMITS = {
    ("feedback", "reason_title"): 24,
    ("feedback", "reason_submit"): 24,
    ("feedback", "reason_cancel"): 24,
    ("shortcut", "title"): 24,
    ("shortcut", "submit"): 24,
    ("shortcut", "cancel"): 24,
    ("feedback", "helpful"): 75,
    ("feedback", "not_helpful"): 75,
    ("feedback", "helpful_label"): 75,
    ("feedback", "not_helpful_label"): 75,
    ("feedback", "tell_why"): 75,
    ("shortcut", "placeholder"): 150,
    ("stop", "button"): 75,
    ("home", "ask_button"): 75,
}

_EMOJI = re.compile(r":[a-z0-9_+-]+:")
_CODE = re.compile(r"`[^`]*`")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


ENGLISH = _load(PROMPTS / "messages.toml")
ENGLISH_DISCLAIMER = (PROMPTS / "disclaimer.md").read_text(encoding="utf-8").strip()
CODES = sorted(path.stem for path in LOCALES.glob("*.toml"))


def texts(messages: dict[str, Any]) -> Iterator[tuple[tuple[str, str, int], str]]:
    """Every text of a catalog's sections, by (section, key, index in a list)."""
    for section, table in messages.items():
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            for n, text in enumerate(value if isinstance(value, list) else [value]):
                yield (section, key, n), text


def placeholders(text: str) -> set[str]:
    """The names of a text's `{placeholders}` (a stray brace fails here)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def markup(text: str) -> dict[str, object]:
    """Slack markup that must survive translation: code spans, emoji, bold, italic."""
    code = _CODE.findall(text)
    rest = _PLACEHOLDER.sub("", _CODE.sub("", text))
    emoji = _EMOJI.findall(rest)
    rest = _EMOJI.sub("", rest)
    return {
        "code spans": code,
        "emoji": sorted(emoji),
        "*": rest.count("*"),
        "_": rest.count("_"),
        "line breaks": text.count("\n"),
        "bullets": text.count("•"),
        "@MedGemma": text.count("@MedGemma"),
    }


def keys(messages: dict[str, Any]) -> set[str]:
    """Every `section.key` of a catalog's sections."""
    return {
        f"{section}.{key}"
        for section, table in messages.items()
        if isinstance(table, dict)
        for key in table
    }


def list_lengths(messages: dict[str, Any]) -> dict[str, int]:
    """The length of every list (the rotating `loading` messages)."""
    return {
        f"{section}.{key}": len(value)
        for section, table in messages.items()
        if isinstance(table, dict)
        for key, value in table.items()
        if isinstance(value, list)
    }


@pytest.fixture(params=CODES)
def catalog(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _load(LOCALES / f"{request.param}.toml")


def test_the_required_languages_have_catalogs() -> None:
    assert set(REQUIRED) <= set(CODES)


def test_english_has_no_catalog_of_its_own() -> None:
    # messages.toml is English; a locales/en.toml would shadow it.
    assert "en" not in CODES


def test_same_sections_and_keys(catalog: dict[str, Any]) -> None:
    mine, english = keys(catalog), keys(ENGLISH)
    assert {"missing": sorted(english - mine), "extra": sorted(mine - english)} == {
        "missing": [],
        "extra": [],
    }


def test_same_list_lengths(catalog: dict[str, Any]) -> None:
    assert list_lengths(catalog) == list_lengths(ENGLISH)


def test_only_the_disclaimer_sits_outside_a_section(catalog: dict[str, Any]) -> None:
    loose = {key for key, value in catalog.items() if not isinstance(value, dict)}
    assert loose == {"disclaimer"}


def test_every_text_is_a_non_empty_string(catalog: dict[str, Any]) -> None:
    bad = [where for where, text in texts(catalog) if not isinstance(text, str) or not text]
    assert bad == []


def test_same_placeholders(catalog: dict[str, Any]) -> None:
    english = dict(texts(ENGLISH))
    wrong = {
        where: (placeholders(text), placeholders(english[where]))
        for where, text in texts(catalog)
        if where in english and placeholders(text) != placeholders(english[where])
    }
    assert wrong == {}


def test_same_slack_markup(catalog: dict[str, Any]) -> None:
    english = dict(texts(ENGLISH))
    wrong = {
        where: (markup(text), markup(english[where]))
        for where, text in texts(catalog)
        if where in english and markup(text) != markup(english[where])
    }
    assert wrong == {}


def test_texts_are_translated(catalog: dict[str, Any]) -> None:
    english = dict(texts(ENGLISH))
    same = [
        where
        for where, text in texts(catalog)
        if text == english.get(where) and where[:2] not in SAME_AS_ENGLISH
    ]
    assert same == []


def test_the_disclaimer_is_translated(catalog: dict[str, Any]) -> None:
    disclaimer = catalog.get("disclaimer")
    assert isinstance(disclaimer, str) and disclaimer.strip()
    assert disclaimer.strip() != ENGLISH_DISCLAIMER
    assert "MedGemma" in disclaimer
    assert markup(disclaimer) == markup(ENGLISH_DISCLAIMER)
    assert disclaimer == disclaimer.strip()  # compared with answers' endings in threads


@pytest.mark.parametrize("where", sorted(SLACK_LIMITS), ids="/".join)
def test_texts_fit_slack_limits(where: tuple[str, str]) -> None:
    limit = SLACK_LIMITS[where]
    section, key = where
    for messages in [ENGLISH, *(_load(LOCALES / f"{code}.toml") for code in CODES)]:
        text = messages.get(section, {}).get(key, "")  # a missing key fails elsewhere
        assert len(text) <= limit, text


def test_the_limited_keys_exist() -> None:
    # A renamed key would otherwise leave its limit unchecked.
    assert all(key in ENGLISH[section] for section, key in SLACK_LIMITS)
    assert all(key in ENGLISH[section] for section, key in SAME_AS_ENGLISH)


def test_the_checks_see_broken_texts() -> None:
    assert placeholders("{a} and {b}") == {"a", "b"}
    with pytest.raises(ValueError):
        placeholders("an unclosed {brace")
    assert markup("_x_ `{id}` :memo: *y*") == {
        "code spans": ["`{id}`"],
        "emoji": [":memo:"],
        "*": 2,
        "_": 2,
        "line breaks": 0,
        "bullets": 0,
        "@MedGemma": 0,
    }
    assert markup(":large_green_circle: {error_id}")["_"] == 0
