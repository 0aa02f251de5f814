"""The terminal front (`medgemma-bot ask`): local images and a question, same pipeline."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from bot.backends.base import Backend
from bot.cache import ImageCache
from bot.errors import FileTooLarge
from bot.pipeline import Fetch, FileRef, IncomingMessage, Pipeline
from bot.prompts import Prompts
from bot.settings import Settings


def local_ref(path: Path) -> FileRef:
    """A local file as a pipeline file reference (cache key from path, size and time)."""
    stat = path.stat()
    return FileRef(
        key=f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}", size=stat.st_size, source=path
    )


def local_fetcher(max_bytes: int) -> Fetch:
    """Reads local files (off the event loop), with the same size cap as Slack files."""

    async def fetch(ref: FileRef) -> bytes:
        if ref.size is not None and ref.size > max_bytes:
            raise FileTooLarge("local file over the cap", limit_mb=f"{max_bytes / 2**20:.1f}")
        assert isinstance(ref.source, Path)
        return await asyncio.to_thread(ref.source.read_bytes)

    return fetch


async def ask(
    *,
    settings: Settings,
    prompts: Prompts,
    backend: Backend,
    images: Sequence[Path],
    question: str,
    chat: bool,
    specialty: str | None,
    out: TextIO = sys.stdout,
    read_line: Callable[[], str] = input,
) -> None:
    """Answer `question` about `images`, streaming to `out`; with `chat`, take follow-ups."""
    cache = ImageCache(max_bytes=settings.image_cache_mb * 2**20, ttl_s=settings.image_cache_ttl_s)
    pipeline = Pipeline(backend=backend, prompts=prompts, settings=settings, cache=cache)
    fetch = local_fetcher(settings.max_file_bytes)
    thread = [IncomingMessage("user", question, files=tuple(local_ref(p) for p in images))]

    def show(chunk: str) -> None:
        out.write(chunk)
        out.flush()

    try:
        while True:
            answer = await pipeline.answer(
                thread,
                fetch=fetch,
                channel_specialty=specialty,
                on_text=show,
            )
            out.write("\n\n")
            for note in answer.notes:
                out.write(f"Note: {note}\n")
            out.write(f"{prompts.disclaimer}\n")
            if not chat:
                return
            follow_up = await asyncio.to_thread(_prompt_line, read_line, out)
            if not follow_up:
                return
            thread += [
                IncomingMessage("assistant", answer.findings),
                IncomingMessage("user", follow_up),
            ]
    finally:
        pipeline.close()


def _prompt_line(read_line: Callable[[], str], out: TextIO) -> str:
    out.write("\n> ")
    out.flush()
    try:
        return read_line().strip()
    except EOFError:
        return ""
