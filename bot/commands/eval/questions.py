"""The text sent for each benchmark item, from the shipped `bot/prompts/eval.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.commands.eval.datasets import Item
from bot.errors import ConfigError
from bot.prompts import fill
from bot.settings import DEFAULT_PROMPTS

DEFAULT_CONCURRENCY = 8  # questions in flight at once: the backends batch them

Mode = Literal["card", "bot"]
MODES: tuple[Mode, ...] = ("card", "bot")
EVAL_PROMPTS = DEFAULT_PROMPTS / "eval.toml"
_KEYS = ("vqa_en", "vqa_zh", "labels")


@dataclass(frozen=True)
class Questions:
    """Question templates of one mode."""

    mode: Mode
    templates: dict[str, str]

    def text(self, item: Item) -> str:
        """What is asked about `item`: its question (or condition) in the mode's template."""
        if item.condition:
            return fill(self.templates["labels"], {"condition": _spoken(item.condition)})
        key = "vqa_zh" if item.group == "zh" else "vqa_en"
        return fill(self.templates[key], {"question": item.question})


def load_questions(mode: Mode, path: Path = EVAL_PROMPTS) -> Questions:
    """The templates of `mode`; ConfigError when the file lacks one."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))[mode]
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        raise ConfigError(f"{path} must hold a [{mode}] table of question templates") from None
    missing = [key for key in _KEYS if not isinstance(table.get(key), str)]
    if missing:
        raise ConfigError(f"[{mode}] of {path} lacks {', '.join(missing)}")
    return Questions(mode=mode, templates={key: table[key] for key in _KEYS})


def _spoken(condition: str) -> str:
    """A CSV column as it reads in a question: "Pleural_Effusion" -> "pleural effusion"."""
    return " ".join(condition.replace("_", " ").split()).lower()
