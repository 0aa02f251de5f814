"""The terminal front (`medgemma-bot ask`): local images and a question, same pipeline.

The paths are checked before the model loads (minutes on a big checkpoint): a missing,
unreadable or unsupported file stops `ask` at once with one line. The bot's own
messages reach the terminal without Slack's markup.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.backends.base import Backend
from bot.errors import BotError, ConfigError, UnsupportedFileType
from bot.imaging.sniff import UNSUPPORTED_KINDS, sniff
from bot.pipeline.file_loader import FileLoader
from bot.pipeline.messages import Answer, Message, SharedFile, UndecodedMessage
from bot.pipeline.pipeline import Pipeline
from bot.prompts import ENGLISH, Prompts
from bot.settings import Settings
from bot.specialty import Specialty

HEAD_BYTES = 4096  # what `sniff` needs: DICOM's mark sits at 128, text is told from more
READABLE_ARCHIVES = frozenset({"zip"})  # a zipped series is read (or refused) when decoded

_EMOJI = re.compile(r":[a-z0-9_+-]+:\s*")
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")  # <url|label>, <@U1|name>
_BARE = re.compile(r"<!?([@#]?[^<>|]+)>")  # <url>, <@U1>, <#C1>, <!here>
_EMPHASIS = re.compile(r"(?<!\w)([*_~])(\S(?:[^\n]*?\S)?)\1(?!\w)")


@dataclass(frozen=True)
class LocalFile:
    """A file on this machine: a `SharedFile` read off the event loop."""

    path: Path

    @property
    def key(self) -> str:
        """A digest of path, size and modification time: a changed file is read again.

        A digest, not the path: file names can name patients, and keys reach the logs.
        """
        stat = self.path.stat()
        material = f"{self.path.resolve()}\x00{stat.st_size}\x00{stat.st_mtime_ns}"
        return "local-" + hashlib.sha256(material.encode()).hexdigest()[:16]

    @property
    def size(self) -> int:
        """The file's size on disk."""
        return self.path.stat().st_size

    async def read(self) -> bytes:
        """The file's bytes."""
        return await asyncio.to_thread(self.path.read_bytes)


def plain(text: str) -> str:
    """Slack's markup as a terminal shows it: no emoji codes, bold, italics or code ticks."""
    text = _EMOJI.sub("", text)
    text = _LINK.sub(r"\2", text)
    text = _BARE.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    return text.replace("`", "").strip()


def terminal_language(settings: Settings, prompts: Prompts) -> str:
    """MEDGEMMA_LANGUAGE where the bot speaks it; English otherwise (no Slack locale here)."""
    return settings.language if settings.language in prompts.languages else ENGLISH


def failure_line(exc: BotError, *, prompts: Prompts, language: str) -> str:
    """The bot's own message for an error, in plain terminal wording."""
    return plain(prompts.error_message(exc, language=language))


def local_files(
    paths: Sequence[Path], *, prompts: Prompts, language: str
) -> tuple[list[Path], list[str]]:
    """The files `ask` reads, and a line for each folder's files left out.

    Raises ConfigError (one line naming the path) for a path that cannot be asked
    about. A folder gives its own files, sorted by name (hidden ones and sub-folders
    left out), so a folder of DICOM slices is asked about as one series.
    """
    files: list[Path] = []
    left_out: list[str] = []
    for path in paths:
        if not path.is_dir():
            _check(path, prompts=prompts, language=language)
            files.append(path)
            continue
        found, skipped = _folder(path, prompts=prompts, language=language)
        files += found
        if skipped:
            left_out.append(f"{path}: left out {skipped} file(s) that are not images, DICOM or zip")
    return files, left_out


def _folder(folder: Path, *, prompts: Prompts, language: str) -> tuple[list[Path], int]:
    """A folder's readable files (sorted, hidden ones out) and how many others it holds."""
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot be read ({_why(exc)})") from None
    found: list[Path] = []
    skipped = 0
    for entry in (e for e in entries if e.is_file()):
        try:
            _check(entry, prompts=prompts, language=language)
        except ConfigError:
            skipped += 1
            continue
        found.append(entry)
    if not found:
        raise ConfigError(
            f"{folder}: no image, DICOM or zip file in this folder (sub-folders are not read)"
        )
    return found, skipped


def _check(path: Path, *, prompts: Prompts, language: str) -> None:
    """Raise ConfigError unless `path` is a readable image, DICOM or zip file."""
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder")
    if not path.is_file():
        raise ConfigError(f"{path}: not a file or folder")
    try:
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({_why(exc)})") from None
    kind = sniff(head)
    if kind in UNSUPPORTED_KINDS and kind not in READABLE_ARCHIVES:
        message = failure_line(UnsupportedFileType(kind=kind), prompts=prompts, language=language)
        raise ConfigError(f"{path}: {message}")


def _why(exc: OSError) -> str:
    """The system's short reason ("Permission denied"): the terminal's own user asked."""
    return exc.strerror or type(exc).__name__


async def ask(
    *,
    settings: Settings,
    prompts: Prompts,
    backend: Backend,
    images: Sequence[Path],
    question: str,
    chat: bool,
    specialty: Specialty | None,
    out: TextIO | None = None,
    read_line: Callable[[], str] = input,
    language: str = ENGLISH,
) -> None:
    """Answer `question` about `images`, streaming to `out`; with `chat`, take follow-ups.

    A BotError (a damaged image, a question too long, the model timing out) is raised
    for the caller to show (`failure_line`).
    """
    out = out or sys.stdout  # looked up now: a test or a pipe may have replaced it
    files = FileLoader(settings=settings)
    pipeline = Pipeline(backend=backend, prompts=prompts, settings=settings, files=files)
    shared: tuple[SharedFile, ...] = tuple(LocalFile(p) for p in images)
    thread: list[UndecodedMessage] = [Message("user", question, files=shared)]

    def show(chunk: str) -> None:
        out.write(chunk)
        out.flush()

    try:
        while True:
            answer = await pipeline.answer(
                thread, channel_specialty=specialty, on_text=show, language=language
            )
            _write_tail(answer, prompts=prompts, out=out, language=language)
            follow_up = await asyncio.to_thread(_prompt_line, read_line, out) if chat else ""
            if not follow_up:
                return
            thread += [Message("assistant", answer.findings), Message("user", follow_up)]
    finally:
        files.close()


def _write_tail(answer: Answer, *, prompts: Prompts, out: TextIO, language: str) -> None:
    """The notes and the disclaimer after the streamed findings."""
    out.write("\n\n")
    for note in answer.notes:
        out.write(f"Note: {plain(note)}\n")
    out.write(f"{plain(prompts.disclaimer_in(language))}\n")


def _prompt_line(read_line: Callable[[], str], out: TextIO) -> str:
    out.write("\n> ")
    out.flush()
    try:
        return read_line().strip()
    except EOFError:
        return ""
