"""What an answer says besides the findings: the bot's notes and caveats; pure.

Each note is a key of [notes] in messages.toml and its values; the pipeline renders them
in the asker's language after the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.backends.base import FinishReason
from bot.imaging.types import DecodedFile, Layout, ModelImage, PrivacyFlag
from bot.pipeline.abilities import ABLE_MODEL, can_localise
from bot.pipeline.conversation import Conversation, Note
from bot.pipeline.messages import DecodedThread
from bot.specialty import Specialty

_VOLUME_LAYOUTS = (Layout.VOLUME, Layout.PATCHES)
# "Retinopathy" in the languages the bot speaks: a grade in the answer gets its caveat.
_RETINOPATHY = re.compile(
    r"retinopath|retinopat[íi]a|rétinopathie|retinopathie|網膜症|视网膜病变", re.IGNORECASE
)


def answer_notes(decoded: DecodedThread, conv: Conversation, *, empty: bool) -> list[Note]:
    """What the answer must say besides the findings: privacy, series, left-outs, request."""
    newest = decoded.messages[-1].files
    return [
        *privacy_notes(newest),
        *series_notes(newest),
        *left_out_notes(decoded),
        *request_notes(conv, empty=empty),
    ]


def privacy_notes(files: Sequence[DecodedFile]) -> list[Note]:
    """Patient details in the newest files' headers or burned into their pixels."""
    flags = frozenset[PrivacyFlag]().union(*(f.privacy_flags for f in files))
    notes: list[Note] = []
    if PrivacyFlag.PATIENT_IDENTIFIERS in flags:
        notes.append(("patient_identifiers", {}))
    if PrivacyFlag.BURNED_IN_ANNOTATION in flags:
        notes.append(("burned_in", {}))
    if PrivacyFlag.DOCUMENT_IDENTIFIERS in flags:
        notes.append(("document_identifiers", {}))
    return notes


def series_notes(files: Sequence[DecodedFile]) -> list[Note]:
    """Series a zip left out."""
    return [("series_skipped", {"count": f.skipped_series}) for f in files if f.skipped_series]


def model_advice(files: Sequence[DecodedFile], *, model: str) -> str | None:
    """The model to name in the logs when volumes or slide patches reach one not trained on
    them: advice for whoever runs the bot, never part of an answer."""
    volumes = any(f.layout in _VOLUME_LAYOUTS for f in files)
    return ABLE_MODEL if volumes and not can_localise(model) else None


def cut_notes(finish: FinishReason, *, limit: int) -> list[Note]:
    """An answer stopped at the token limit says so, and how to get the rest."""
    return [("answer_cut", {"limit": limit})] if finish == "length" else []


def left_out_notes(decoded: DecodedThread) -> list[Note]:
    """Files of the thread that could not be read."""
    notes: list[Note] = []
    if decoded.unreadable:
        notes.append(("files_unreadable", {"count": decoded.unreadable}))
    if decoded.skipped:
        which = ", ".join(str(n) for n in decoded.skipped)
        notes.append(("files_left_out", {"which": which, "total": decoded.newest_files}))
    return notes


def request_notes(conv: Conversation, *, empty: bool) -> list[Note]:
    """What fitting the request left out, a comparison of several images, an empty answer."""
    notes = list(conv.notes)
    if sum(1 for m in conv.messages if m.role == "user" and m.images) > 1:
        notes.append(("comparison", {}))
    if empty:
        notes.append(("empty_answer", {}))
    return notes


def caveats(findings: str, *, specialty: Specialty) -> list[Note]:
    """Warnings the answer's content calls for (a retinopathy grade's limited accuracy)."""
    if specialty is Specialty.OPHTHALMOLOGIST and _RETINOPATHY.search(findings):
        return [("retinopathy", {})]
    return []


def seen_images(conv: Conversation) -> tuple[ModelImage, ...]:
    """The request's DICOM and image-set images, in order, labelled as the prompt has them.

    A file flagged as having patient details burned into its pixels is left out: the
    bot's copy would outlive the file the asker is told to delete, and they cannot
    delete the bot's message. So are a document's pages: they may name the patient, and
    the asker already sees them as they shared them.
    """
    shown = [
        f
        for f in conv.shown
        if (f.is_image_set or f.source_format in ("dicom", "zip")) and f.layout is not Layout.PAGES
    ]
    kept = [f for f in shown if PrivacyFlag.BURNED_IN_ANNOTATION not in f.privacy_flags]
    return tuple(image for f in kept for image in f.images)
