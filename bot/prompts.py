"""Loads `prompts/`: system prompts per specialty, the series instruction, the
disclaimer and every message the bot says in Slack besides the model's findings."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import errors
from bot.errors import BotError, ConfigError
from bot.specialty import SPECIALTIES

IMAGE_SET_KEYS = ("ct_volume", "mr_volume", "volume", "cine", "frames", "dose", "images", "patches")


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

    System prompts come in profiles: `bot` (ours, per specialty, in prompts/<specialty>.md)
    and Google's own per model family (prompts/google.toml: one short line for MedGemma 1,
    none for MedGemma 1.5); an empty prompt means no system turn.
    """

    system: Mapping[str, str]  # specialty -> our system prompt (the `bot` profile)
    google: Mapping[str, Mapping[str, str]]  # model family -> specialty -> Google's prompt
    image_sets: Mapping[str, str]  # instruction per kind of image set
    disclaimer: str
    messages: Mapping[str, Any]

    @property
    def disclaimers(self) -> tuple[str, ...]:
        """Every wording of the disclaimer the bot may have added to an answer."""
        return (self.disclaimer,)

    def system_prompt(self, specialty: str, *, profile: str = "bot", model: str = "") -> str:
        """The system prompt of a specialty in a profile ("" for none)."""
        if profile == "google":
            return self.google[model_family(model)].get(specialty, "")
        return self.system[specialty]

    def text(self, section: str, key: str, **params: object) -> str:
        """A message from messages.toml with its placeholders filled."""
        return fill(str(self.messages[section][key]), params)

    def loading(self) -> list[str]:
        """Loading messages shown while the bot works."""
        return [str(m) for m in self.messages["status"]["loading"]]

    def error_text(self, exc: BotError, *, error_id: str, **params: object) -> str:
        """The fixed user message for an error, with its id."""
        message = self.text("errors", exc.message_key, **{**exc.params, **params})
        return self.text("format", "error", message=message, error_id=error_id)


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
        system={s: _read(directory / f"{s}.md") for s in SPECIALTIES},
        google=_toml(directory / "google.toml"),
        image_sets={k: str(v) for k, v in image_sets.items()},
        disclaimer=_read(directory / "disclaimer.md"),
        messages=messages,
    )
