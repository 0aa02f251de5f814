"""`medgemma-bot ask`: check the paths, load the model, answer, say in one line what failed.

Exit status: 0 answered; 1 a failure while answering (the bot's own message) or an
unexpected error (its type only); ConfigError (2) and BackendUnavailable at start-up (3)
are left to `main`, which says them in one line.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from bot import logs
from bot.backends.base import Backend
from bot.errors import BackendUnavailable, BotError, ConfigError
from bot.prompts import Prompts
from bot.settings import Settings
from bot.specialty import Specialty

log = logging.getLogger(__name__)


async def ask_command(
    *, images: list[Path], question: str, chat: bool, specialty: Specialty | None
) -> int:
    """Run `ask`; the paths are checked before the model loads (minutes on a big checkpoint)."""
    from bot.backends import create_backend
    from bot.commands.ask.terminal import local_files, terminal_language
    from bot.prompts import load_prompts
    from bot.settings import load_settings

    settings = load_settings()
    # LOG_LEVEL=DEBUG shows where an unexpected error came from; otherwise warnings only.
    logs.setup(level="DEBUG" if settings.log_level == "DEBUG" else "WARNING", fmt="text")
    prompts = load_prompts(settings.prompts_dir)
    language = terminal_language(settings, prompts)
    if not images and not question:
        raise ConfigError("give image, DICOM or zip files (or a folder), or a question with -q")
    paths, left_out = local_files(images, prompts=prompts, language=language)
    for line in left_out:
        say(line)
    backend = create_backend(settings, progress=say)
    try:
        await backend.start()
        return await _answer(
            settings=settings,
            prompts=prompts,
            backend=backend,
            images=paths,
            question=question,
            chat=chat,
            specialty=specialty,
            language=language,
        )
    except (ConfigError, BackendUnavailable):
        raise  # a setting or the model's start-up: main() says which, in one line
    except Exception as exc:
        logs.event(log, "ask_failed", level=logging.DEBUG, exc_info=exc)
        say(f"unexpected error ({type(exc).__name__}); run with LOG_LEVEL=DEBUG for details")
        return 1
    finally:
        await backend.aclose()


async def _answer(
    *,
    settings: Settings,
    prompts: Prompts,
    backend: Backend,
    images: list[Path],
    question: str,
    chat: bool,
    specialty: Specialty | None,
    language: str,
) -> int:
    """0 once answered; 1 after the bot's own message for a failure while answering."""
    from bot.commands.ask.terminal import ask, failure_line

    try:
        await ask(
            settings=settings,
            prompts=prompts,
            backend=backend,
            images=images,
            question=question,
            chat=chat,
            specialty=specialty,
            language=language,
        )
    except BotError as exc:
        say(failure_line(exc, prompts=prompts, language=language))
        return 1
    return 0


def say(line: str) -> None:
    """One line for the person at the terminal, beside the answer (stderr, not stdout)."""
    print(f"medgemma-bot: {line}", file=sys.stderr, flush=True)
