"""Google's one-turn recipes for MedGemma 1.5's chest X-ray abilities; pure.

- Localisation: the film, then Google's prompt with the question as its query.
- Longitudinal comparison: the prior film, the current film, then the question, with
  no labels between the images.

Neither sends a system prompt or the rest of the thread: the model was trained on
single turns in this shape. Only single 2D images that may be chest X-rays qualify
(photos, and DICOM CR/DX radiographs), never series, frames or slide patches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.backends.base import ChatMessage, ImagePart, Part, TextPart
from bot.imaging.types import DecodedFile, ModelImage
from bot.pipeline.conversation import TURN_OVERHEAD, Conversation, Note
from bot.pipeline.messages import DecodedMessage
from bot.specialty import Specialty

# What a chest X-ray may be: a photo or screenshot (no modality), or a DICOM radiograph.
CHEST_MODALITIES = frozenset({None, "CR", "DX"})


@dataclass(frozen=True)
class Film:
    """A single image in the thread that may be a chest X-ray, and where it was posted."""

    file: DecodedFile
    message: int  # the message's place in the thread
    position: int  # the file's place in its message

    @property
    def image(self) -> ModelImage:
        """The image as the model gets it (padded to a square, at most 896 px)."""
        return self.file.images[0]


def films(thread: Sequence[DecodedMessage], *, specialty: Specialty) -> list[Film]:
    """The thread's possible chest X-rays, oldest first; none outside radiology."""
    if specialty is not Specialty.RADIOLOGIST:
        return []
    return [
        Film(file, m, p)
        for m, message in enumerate(thread)
        for p, file in enumerate(message.files)
        if _single_film(file)
    ]


def _single_film(file: DecodedFile) -> bool:
    return (
        not file.is_image_set
        and len(file.images) == 1
        and file.modality in CHEST_MODALITIES
        and file.specialty in (None, Specialty.RADIOLOGIST)
    )


def latest_film(candidates: Sequence[Film], *, newest: int) -> Film | None:
    """The film a "where is" question is about: the question's own first, else the latest."""
    own = [f for f in candidates if f.message == newest]
    if own:
        return own[0]
    return candidates[-1] if candidates else None


def prior_and_current(candidates: Sequence[Film]) -> tuple[Film, Film, Note] | None:
    """The thread's latest two films as (prior, current) and the note saying how.

    The prior is the older by DICOM study (or acquisition) date when both films have
    one and they differ; else the one posted in the earlier message, or first in the
    same message.
    """
    if len(candidates) < 2:
        return None
    first, second = candidates[-2], candidates[-1]
    older, newer = first.file.taken, second.file.taken
    if older and newer and older != newer:
        pair = (first, second) if older < newer else (second, first)
        return pair[0], pair[1], ("prior_by_date", {})
    how = "prior_by_message" if first.message != second.message else "prior_by_file"
    return first, second, (how, {})


CountText = Callable[[str], int]


def one_turn(
    parts: Sequence[Part],
    *,
    max_new_tokens: int,
    count_text: CountText,
    tokens_per_image: int,
    notes: Sequence[Note] = (),
    shown: Sequence[DecodedFile] = (),
) -> Conversation:
    """A request of one user turn, with its token count."""
    texts = sum(count_text(p.text) for p in parts if isinstance(p, TextPart))
    images = sum(1 for p in parts if isinstance(p, ImagePart))
    return Conversation(
        messages=(ChatMessage("user", tuple(parts)),),
        max_new_tokens=max_new_tokens,
        tokens=texts + images * tokens_per_image + TURN_OVERHEAD,
        notes=tuple(notes),
        shown=tuple(shown),
    )


def with_safety(question: str, safety: str) -> str:
    """The question preceded by the safety instruction (none when it is empty)."""
    return f"{safety}\n\n{question}" if safety else question
