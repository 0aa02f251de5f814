"""Every module of the bot imports with what is installed (also run at the dependency floors)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import bot


def all_modules() -> list[str]:
    """The dotted names of every module and package under bot/ (`python -m bot` aside)."""
    found = pkgutil.walk_packages(bot.__path__, prefix="bot.")
    return sorted(m.name for m in found if m.name != "bot.__main__")


def test_every_module_imports() -> None:
    names = all_modules()
    assert (
        len(names) > 100
        and "bot.slack.wiring.app" in names
        and "bot.backends.hf.batching.engine" in names
    )
    for name in names:
        importlib.import_module(name)


def test_the_texts_ship_inside_the_package() -> None:
    from bot.settings import DEFAULT_PROMPTS

    assert DEFAULT_PROMPTS == Path(bot.__file__).resolve().parent / "prompts"
    assert (DEFAULT_PROMPTS / "messages.toml").is_file()
    assert (DEFAULT_PROMPTS / "locales" / "de.toml").is_file()
