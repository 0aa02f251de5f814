"""A thread's messages on their way to the model: before and after their files are decoded.

A front (Slack, the terminal) turns what people wrote into `Message[SharedFile]`: text,
author and the files they shared, not yet read. The file loader turns those into
`Message[DecodedFile]`, and the conversation into the model's request. One message
type, two kinds of file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from bot.imaging.boxes import Box
from bot.imaging.types import DecodedFile, ModelImage

Role = Literal["user", "assistant"]


class SharedFile(Protocol):
    """A file someone shared: a cache key, the size it declares, and its bytes on demand."""

    @property
    def key(self) -> str:
        """Identifies the file's content for the decoded-image cache (e.g. a Slack file id)."""
        ...

    @property
    def size(self) -> int | None:
        """The size the file declares before it is read, None when unknown."""
        ...

    async def read(self) -> bytes:
        """The file's bytes; raises FileError subclasses with user-safe details."""
        ...


FileT = TypeVar("FileT", covariant=True)


@dataclass(frozen=True)
class Message(Generic[FileT]):
    """One message of a thread: who wrote it, the text, and its files."""

    role: Role
    text: str
    author: str = ""  # who wrote a human message, shown when several people talk
    files: tuple[FileT, ...] = ()


UndecodedMessage = Message[SharedFile]
DecodedMessage = Message[DecodedFile]


@dataclass(frozen=True)
class DecodedThread:
    """A thread with its files decoded, and which files were left out.

    `unreadable` counts earlier files that can no longer be read; `skipped` holds the
    1-based positions of the newest message's files that could not be read (the
    others were).
    """

    messages: list[DecodedMessage]
    unreadable: int
    skipped: tuple[int, ...] = ()
    newest_files: int = 0


@dataclass(frozen=True)
class AnswerStats:
    """Counts and timings of one request, for metrics and the audit log (no content)."""

    images: int = 0  # sent to the model, series slices included
    slices: int = 0  # of those, the slices of CT/MRI series
    first_token_s: float | None = None  # from reading the files to the first text
    queue_wait_s: float | None = None  # waiting for a place with the model
    generation_s: float | None = None  # from the first text to the last
    tokens: int = 0  # answer tokens as the backend counts them


@dataclass(frozen=True, eq=False)
class Located:
    """Boxes the model gave, on the image it saw (padded square, as sent)."""

    image: ModelImage
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class Answer:
    """The model's findings and the bot's own notes about the request."""

    findings: str
    notes: tuple[str, ...] = ()
    stats: AnswerStats = field(default_factory=AnswerStats)
    # The images of DICOM files and image sets as the model received them (windowed,
    # sampled, labelled), for showing what an answer is based on; photos are left out.
    seen: tuple[ModelImage, ...] = field(default=(), repr=False)
    # A "where is" answer's boxes, to draw on the image and show with the answer.
    located: Located | None = field(default=None, repr=False)
    cut: bool = False  # stopped at the length limit: "continue" gets the rest
    # A values answer's table (the header row first), in the asker's language: the
    # document's own values, so never in a repr.
    table: tuple[tuple[str, ...], ...] = field(default=(), repr=False)
