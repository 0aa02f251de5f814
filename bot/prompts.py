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


class _Blank(dict[str, Any]):
    """Fills a placeholder nobody provided with an empty string instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, params: Mapping[str, object]) -> str:
    """`template` with `{name}` placeholders filled from `params`."""
    return string.Formatter().vformat(template, (), _Blank(params))


@dataclass(frozen=True)
class Prompts:
    """All prompt and message text, validated at start-up."""

    system: Mapping[str, str]  # specialty -> system prompt
    series: str
    disclaimer: str
    messages: Mapping[str, Any]

    @property
    def disclaimers(self) -> tuple[str, ...]:
        """Every wording of the disclaimer the bot may have added to an answer."""
        return (self.disclaimer,)

    def system_prompt(self, specialty: str) -> str:
        """The system prompt of a specialty."""
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
    try:
        messages = tomllib.loads(_read(directory / "messages.toml"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{directory / 'messages.toml'} is not valid TOML: {exc}") from None
    missing = sorted(_error_keys() - set(messages.get("errors", {})))
    if missing:
        raise ConfigError(f"messages.toml lacks [errors] entries: {', '.join(missing)}")
    for section in ("status", "notes", "format"):
        if section not in messages:
            raise ConfigError(f"messages.toml lacks the [{section}] section")
    return Prompts(
        system={s: _read(directory / f"{s}.md") for s in SPECIALTIES},
        series=_read(directory / "series.md"),
        disclaimer=_read(directory / "disclaimer.md"),
        messages=messages,
    )
