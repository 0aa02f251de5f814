"""Loads `bot/prompts/`: system prompts per specialty, the series instruction, the
disclaimer and every message the bot says in Slack besides the model's findings."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import errors
from bot.errors import BotError, ConfigError
from bot.prompts.abilities import AbilityTexts, parse_abilities
from bot.specialty import SPECIALTIES

ENGLISH = "en"
IMAGE_SET_KEYS = (
    "ct_volume",
    "mr_volume",
    "volume",
    "cine",
    "frames",
    "dose",
    "images",
    "patches",
    "pages",
)


class _Blank(dict[str, Any]):
    """Fills a placeholder nobody provided with an empty string instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, params: Mapping[str, object]) -> str:
    """`template` with `{name}` placeholders filled from `params`."""
    return string.Formatter().vformat(template, (), _Blank(params))


@dataclass(frozen=True)
class Prompts:
    """All prompt and message text, validated at start-up.

    System prompts come in profiles: `bot` (ours, per specialty, in bot/prompts/<specialty>.md)
    and Google's own per model family (bot/prompts/google.toml: one short line for MedGemma 1,
    none for MedGemma 1.5); an empty prompt means no system turn.
    """

    system: Mapping[str, str]  # specialty -> our system prompt (the `bot` profile)
    google: Mapping[str, Mapping[str, str]]  # model family -> specialty -> Google's prompt
    image_sets: Mapping[str, str]  # instruction per kind of image set
    disclaimer: str  # English
    messages: Mapping[str, Any]  # English
    abilities: AbilityTexts  # MedGemma 1.5's chest X-ray abilities (abilities.toml)
    # Other languages: bot/prompts/locales/<code>.toml, the sections of messages.toml plus a
    # top-level `disclaimer`; whatever a catalog lacks falls back to English.
    catalogs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the bot speaks, English first."""
        return (ENGLISH, *sorted(self.catalogs))

    def disclaimer_in(self, language: str = ENGLISH) -> str:
        """The disclaimer in `language` (English when there is none)."""
        return str(self.catalogs.get(language, {}).get("disclaimer") or self.disclaimer)

    @property
    def disclaimers(self) -> tuple[str, ...]:
        """Every wording of the disclaimer the bot may have added to an answer."""
        return tuple(dict.fromkeys(self.disclaimer_in(lang) for lang in self.languages))

    def system_prompt(self, specialty: str, *, profile: str = "bot", model: str = "") -> str:
        """The system prompt of a specialty in a profile ("" for none)."""
        if profile == "google":
            return self.google[model_family(model)].get(specialty, "")
        return self.system[specialty]

    def _raw(self, section: str, key: str, language: str) -> Any:
        local = self.catalogs.get(language, {}).get(section, {})
        return local[key] if key in local else self.messages[section][key]

    def text(self, section: str, key: str, *, language: str = ENGLISH, **params: object) -> str:
        """A message in `language` with its placeholders filled (English where missing)."""
        return fill(str(self._raw(section, key, language)), params)

    def render(
        self, section: str, key: str, params: Mapping[str, object], *, language: str = ENGLISH
    ) -> str:
        """`text` with the values given as a mapping."""
        return fill(str(self._raw(section, key, language)), params)

    def loading(self, language: str = ENGLISH) -> list[str]:
        """Loading messages shown while the bot works."""
        return self.texts("status", "loading", language=language)

    def texts(self, section: str, key: str, *, language: str = ENGLISH) -> list[str]:
        """A list of texts in `language` (English where missing)."""
        return [str(m) for m in self._raw(section, key, language)]

    def error_message(self, exc: BotError, *, language: str = ENGLISH, **params: object) -> str:
        """The fixed user message for an error in `language`, without its id or markup around.

        A file's kind and the formats the bot reads come from the catalog too, so the
        whole message is in one language.
        """
        filled: dict[str, object] = {
            "supported": self.text("formats", "supported", language=language),
            **exc.params,
            **params,
        }
        if "kind" in filled:
            kind = str(filled["kind"])
            kind = kind if kind in self.messages.get("kinds", {}) else "unknown"
            filled["kind"] = self.text("kinds", kind, language=language)
        return self.render("errors", exc.message_key, filled, language=language)

    def error_text(
        self, exc: BotError, *, error_id: str, language: str = ENGLISH, **params: object
    ) -> str:
        """The fixed user message for an error, with its id, in `language`, as Slack shows it."""
        message = self.error_message(exc, language=language, **params)
        return self.text("format", "error", language=language, message=message, error_id=error_id)


def language_for(locale: str | None, *, fixed: str, available: Sequence[str]) -> str:
    """The catalog for a Slack locale ("es-LA" -> "es", "pt-BR" -> "pt-BR"); English when none.

    `fixed` (MEDGEMMA_LANGUAGE) wins unless it is "auto". Traditional Chinese falls back
    to English rather than being answered in Simplified.
    """
    if fixed != "auto":
        return fixed
    if not locale:
        return ENGLISH
    if locale in available:
        return locale
    base = locale.split("-", 1)[0]
    if base == "zh":
        simplified = locale in ("zh-CN", "zh-SG", "zh-Hans") and "zh-CN" in available
        return "zh-CN" if simplified else ENGLISH
    return next((lang for lang in available if lang.split("-", 1)[0] == base), ENGLISH)


def model_family(model: str) -> str:
    """ "medgemma-1.5" for the 1.5 releases, else "medgemma-1" (google.toml's sections)."""
    return "medgemma-1.5" if "1.5" in model else "medgemma-1"


def profile_for(setting: str, model: str) -> str:
    """The prompt profile in use: `auto` follows Google for 1.5, ours for the others."""
    if setting != "auto":
        return setting
    return "google" if model_family(model) == "medgemma-1.5" else "bot"


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _catalogs(folder: Path) -> dict[str, dict[str, Any]]:
    """Every translation in `folder`, by language code (the file name)."""
    if not folder.is_dir():
        return {}
    return {path.stem: _toml(path) for path in sorted(folder.glob("*.toml"))}


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        raise ConfigError(f"Missing prompt file {path} (check MEDGEMMA_PROMPTS_DIR)") from None
    if not text:
        raise ConfigError(f"Prompt file {path} is empty")
    return text


def _error_keys() -> set[str]:
    return {
        cls.message_key
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, BotError)
    }


def load_prompts(directory: Path) -> Prompts:
    """Read and check the prompts folder; raise ConfigError naming what is missing."""
    messages = _toml(directory / "messages.toml")
    missing = sorted(_error_keys() - set(messages.get("errors", {})))
    if missing:
        raise ConfigError(f"messages.toml lacks [errors] entries: {', '.join(missing)}")
    for section in ("status", "notes", "format"):
        if section not in messages:
            raise ConfigError(f"messages.toml lacks the [{section}] section")
    image_sets = _toml(directory / "image_sets.toml")
    missing_sets = sorted(set(IMAGE_SET_KEYS) - set(image_sets))
    if missing_sets:
        raise ConfigError(f"image_sets.toml lacks: {', '.join(missing_sets)}")
    return Prompts(
        catalogs=_catalogs(directory / "locales"),
        system={s: _read(directory / f"{s}.md") for s in SPECIALTIES},
        google=_toml(directory / "google.toml"),
        image_sets={k: str(v) for k, v in image_sets.items()},
        disclaimer=_read(directory / "disclaimer.md"),
        messages=messages,
        abilities=parse_abilities(_toml(directory / "abilities.toml")),
    )
