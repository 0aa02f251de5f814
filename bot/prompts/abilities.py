"""`abilities.toml` read and checked: Google's prompts for MedGemma 1.5's chest X-ray
abilities, the lab report extraction instruction, the words that ask for each, and the
bot's instructions that go with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.errors import ConfigError

ABILITY_KINDS = ("locate", "compare", "continue", "extract")


@dataclass(frozen=True)
class TriggerWords:
    """The words of one language that ask for each ability."""

    locate: tuple[str, ...] = ()
    compare: tuple[str, ...] = ()
    continue_: tuple[str, ...] = ()
    extract: tuple[str, ...] = ()


@dataclass(frozen=True)
class AbilityTexts:
    """What the abilities send and which words call them up (per language code)."""

    localisation: str  # Google's prompt, with a {query} placeholder
    localisation_tokens: int
    longitudinal_tokens: int
    continuation: str  # sent instead of a "continue" follow-up
    safety: str  # the safety instruction put in the user turn when no system prompt has it
    extraction: str = ""  # asks for a lab report's values as a json list
    extraction_tokens: int = 1000
    triggers: Mapping[str, TriggerWords] = field(default_factory=dict)


def _text(data: Mapping[str, Any], section: str, key: str) -> str:
    value = data.get(section, {}).get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"abilities.toml lacks [{section}] {key}")
    return value.strip()


def _tokens(data: Mapping[str, Any], section: str) -> int:
    value = data.get(section, {}).get("max_new_tokens")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"abilities.toml: [{section}] max_new_tokens must be a positive number")
    return value


def _words(language: str, table: Mapping[str, Any]) -> TriggerWords:
    found: dict[str, tuple[str, ...]] = {}
    for kind in ABILITY_KINDS:
        words = table.get(kind, [])
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise ConfigError(f"abilities.toml: [triggers.{language}] {kind} must list words")
        found[kind] = tuple(w.strip().lower() for w in words)
    return TriggerWords(found["locate"], found["compare"], found["continue"], found["extract"])


def parse_abilities(data: Mapping[str, Any]) -> AbilityTexts:
    """The checked contents of abilities.toml; ConfigError names what is missing."""
    triggers = data.get("triggers", {})
    if not isinstance(triggers, dict) or not triggers:
        raise ConfigError("abilities.toml lacks [triggers.<language>] tables")
    return AbilityTexts(
        localisation=_text(data, "localisation", "prompt"),
        localisation_tokens=_tokens(data, "localisation"),
        longitudinal_tokens=_tokens(data, "longitudinal"),
        continuation=_text(data, "continuation", "instruction"),
        safety=_text(data, "safety", "user_turn"),
        extraction=_text(data, "extraction", "instruction"),
        extraction_tokens=_tokens(data, "extraction"),
        triggers={lang: _words(lang, table) for lang, table in triggers.items()},
    )
