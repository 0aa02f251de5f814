"""The terminal front (`medgemma-bot ask`): local images and a question, same pipeline."""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.backends.base import Backend
from bot.file_loader import FileLoader
from bot.pipeline import Pipeline
from bot.prompts import Prompts
from bot.settings import Settings
from bot.specialty import Specialty
from bot.thread import Answer, Message, SharedFile, UndecodedMessage


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


async def ask(
    *,
    settings: Settings,
    prompts: Prompts,
    backend: Backend,
    images: Sequence[Path],
    question: str,
    chat: bool,
    specialty: Specialty | None,
    out: TextIO = sys.stdout,
    read_line: Callable[[], str] = input,
) -> None:
    """Answer `question` about `images`, streaming to `out`; with `chat`, take follow-ups."""
    files = FileLoader(settings=settings)
    pipeline = Pipeline(backend=backend, prompts=prompts, settings=settings, files=files)
    shared: tuple[SharedFile, ...] = tuple(LocalFile(p) for p in images)
    thread: list[UndecodedMessage] = [Message("user", question, files=shared)]

    def show(chunk: str) -> None:
        out.write(chunk)
        out.flush()

    try:
        while True:
            answer = await pipeline.answer(thread, channel_specialty=specialty, on_text=show)
            _write_tail(answer, prompts=prompts, out=out)
            follow_up = await asyncio.to_thread(_prompt_line, read_line, out) if chat else ""
            if not follow_up:
                return
            thread += [Message("assistant", answer.findings), Message("user", follow_up)]
    finally:
        files.close()


def _write_tail(answer: Answer, *, prompts: Prompts, out: TextIO) -> None:
    """The notes and the disclaimer after the streamed findings."""
    out.write("\n\n")
    for note in answer.notes:
        out.write(f"Note: {note}\n")
    out.write(f"{prompts.disclaimer}\n")


def _prompt_line(read_line: Callable[[], str], out: TextIO) -> str:
    out.write("\n> ")
    out.flush()
    try:
        return read_line().strip()
    except EOFError:
        return ""
