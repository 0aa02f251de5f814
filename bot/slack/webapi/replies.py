"""Answers and notices as Slack messages, within Slack's limits.

An answer is one or more messages: the findings as a `markdown` block (split at
paragraph, line or word boundaries so nothing is cut), the fixed disclaimer on every
part as the `markdown` paragraph after them, and the bot's notes after the last part's.
A streamed answer looks the same (`streaming.py`): its Markdown ends with the
disclaimer, the notes follow as blocks; one look whichever way an answer arrives. The
`text` field, which notifications, screen readers and search show, holds the findings
and the disclaimer, escaped as Slack requires; reading the thread back removes the
disclaimer again.
Metadata and block ids are the post format's (`posts.py`). Text the bot did not write
(findings, notes, a shortcut's question) is made inert here (`inert.py`): no mention,
control sequence or masked link of the model's or a user's is ever live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.pipeline.messages import Answer
from bot.prompts import ENGLISH, Prompts
from bot.slack.webapi.inert import escape, inert
from bot.slack.webapi.posts import (
    ASKED_BLOCK,
    DISCLAIMER_BLOCK,
    FEEDBACK_BLOCK,
    FINDINGS_BLOCK,
    NOTE_BLOCK,
    NOTICE_BLOCK,
    QUESTION_BLOCK,
    QUOTE,
    TABLE_BLOCK,
    Mark,
)

MARKDOWN_LIMIT = 11_000  # Slack: 12,000 markdown characters per message, with room to spare
CONTEXT_LIMIT = 2_900  # text of one context element
TEXT_LIMIT = 39_000  # Slack truncates `text` beyond 40,000 characters
FENCE = "```"
FEEDBACK_ACTION = "feedback"  # the action_id the feedback listener handles


def _cut_point(text: str, limit: int) -> int:
    """Where to cut `text` (longer than `limit`): a paragraph, line or word break."""
    for sep in ("\n\n", "\n", " "):
        at = text.rfind(sep, 0, limit)
        if at > limit // 2:
            return at + len(sep)
    cut = _outside_entity(text, limit)
    if text[cut - 1] == "`" == text[cut]:  # never inside a fence: only between whole ones
        start = cut
        while start > 0 and text[start - 1] == "`":
            start -= 1
        cut = start + (cut - start) // len(FENCE) * len(FENCE)
    return cut or len(FENCE)


def _outside_entity(text: str, cut: int) -> int:
    """`cut`, or the start of an entity (`&amp;`) it would fall inside."""
    start = text.rfind("&", max(0, cut - 4), cut)
    if start > 0 and ";" not in text[start:cut]:
        return start
    return cut


def split_markdown(text: str, limit: int = MARKDOWN_LIMIT) -> list[str]:
    """Chunks of at most `limit` characters whose concatenation is `text`.

    A chunk that ends inside a code fence closes it, and the next reopens it, so each
    message renders on its own; that is the only text added.
    """
    chunks: list[str] = []
    rest = text
    reopen = ""
    budget = limit - 2 * (len(FENCE) + 1)  # room to close and reopen a fence
    while rest:
        piece = (
            rest
            if len(reopen) + len(rest) <= limit
            else rest[: max(1, _cut_point(rest, max(1, budget - len(reopen))))]
        )
        rest = rest[len(piece) :]
        chunk = reopen + piece
        inside = chunk.count(FENCE) % 2 == 1
        if inside and rest:
            chunk = chunk.rstrip("\n") + "\n" + FENCE
        reopen = FENCE + "\n" if inside and rest else ""
        chunks.append(chunk)
    return chunks or [""]


def with_disclaimer(shown: str, disclaimer: str) -> str:
    """The `text` of a message with findings (`shown`: already inert), and the disclaimer.

    What notifications and screen readers show, and what reading the thread back reads.
    """
    body = shown
    if len(body) > TEXT_LIMIT - len(disclaimer) - 2:  # the blocks still hold all of it
        body = body[: _outside_entity(body, TEXT_LIMIT - len(disclaimer) - 3)] + "…"
    return f"{body}\n\n{escape(disclaimer)}"


def _context(text: str, block_id: str) -> dict[str, Any]:
    return {
        "type": "context",
        "block_id": block_id,
        "elements": [mrkdwn(_inert_cut(text, CONTEXT_LIMIT))],
    }


def _inert_cut(text: str, limit: int) -> str:
    shown = inert(text)
    return shown[: _outside_entity(shown, limit)] if len(shown) > limit else shown


def feedback_block(prompts: Prompts, *, request_id: str, language: str) -> dict[str, Any]:
    """Thumbs up / down under an answer (Block Kit `feedback_buttons`); values carry ids only."""

    def button(key: str, rating: str) -> dict[str, Any]:
        return {
            "text": {
                "type": "plain_text",
                "text": prompts.text("feedback", key, language=language),
            },
            "accessibility_label": prompts.text("feedback", f"{key}_label", language=language),
            "value": f"{rating}:{request_id}",
        }

    return {
        "type": "context_actions",
        "block_id": FEEDBACK_BLOCK,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION,
                "positive_button": button("helpful", "up"),
                "negative_button": button("not_helpful", "down"),
            }
        ],
    }


def disclaimer_block(disclaimer: str) -> dict[str, Any]:
    """The disclaimer as the Markdown paragraph that ends an answer's text, as a stream's does."""
    return {"type": "markdown", "block_id": DISCLAIMER_BLOCK, "text": escape(disclaimer)}


@dataclass(frozen=True)
class AnswerTail:
    """The blocks after an answer's last findings: the disclaimer, a values table and the
    notes, feedback."""

    notes: list[dict[str, Any]]
    disclaimer: dict[str, Any]
    feedback: dict[str, Any]

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """Under a whole answer: disclaimer, notes, feedback buttons."""
        return [self.disclaimer, *self.notes, self.feedback]

    @property
    def after_stream(self) -> list[dict[str, Any]]:
        """Under a streamed answer, whose text already ends with the disclaimer."""
        return [*self.notes, self.feedback]


def answer_tail(answer: Answer, *, prompts: Prompts, request_id: str, language: str) -> AnswerTail:
    """The blocks after the last findings, in the asker's language."""
    notes = [
        _context(
            prompts.text("format", "note", note=note, language=language), NOTE_BLOCK.format(n=n)
        )
        for n, note in enumerate(answer.notes, start=1)
    ]
    disclaimer = disclaimer_block(prompts.disclaimer_in(language))
    feedback = feedback_block(prompts, request_id=request_id, language=language)
    table = [table_block(answer.table)] if answer.table else []
    return AnswerTail(notes=[*table, *notes], disclaimer=disclaimer, feedback=feedback)


def table_block(rows: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """A values table as Slack's `table` block (the markdown block renders no tables).

    Cells are `raw_text`, which Slack shows as typed: no mention or link in a document
    or an answer becomes live. The header row is the first.
    """
    return {
        "type": "table",
        "block_id": TABLE_BLOCK,
        "rows": [[{"type": "raw_text", "text": cell or "-"} for cell in row] for row in rows],
        "column_settings": [{"is_wrapped": True}],
    }


def answer_messages(
    answer: Answer,
    *,
    prompts: Prompts,
    request_id: str,
    language: str = ENGLISH,
    parts_before: int = 0,
) -> list[dict[str, Any]]:
    """chat.postMessage arguments for an answer, in order.

    Every part carries the disclaimer, in its blocks and in `text`; the notes and the
    feedback buttons come after the findings of the last part. `parts_before` numbers
    parts that follow a streamed first one.
    """
    chunks = split_markdown(inert(answer.findings)) if answer.findings else []
    disclaimer = prompts.disclaimer_in(language)
    tail = answer_tail(answer, prompts=prompts, request_id=request_id, language=language)
    if not chunks:  # no findings (an empty answer): the notes say so
        text = "\n".join(answer.notes) or disclaimer
        blocks = [tail.disclaimer, *tail.notes]
        return [notice_message(text, kind="empty", request_id=request_id, tail=blocks)]
    messages: list[dict[str, Any]] = []
    parts = parts_before + len(chunks)
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        part = parts_before + i + 1
        findings = {"type": "markdown", "block_id": FINDINGS_BLOCK.format(n=i + 1), "text": chunk}
        blocks = [findings, *(tail.blocks if last else [tail.disclaimer])]
        messages.append(
            {
                "text": with_disclaimer(chunk, disclaimer),
                "blocks": blocks,
                "metadata": Mark.answer(request_id, part=part, parts=parts).metadata,
            }
        )
    return messages


def notice_message(
    text: str, *, kind: str, request_id: str = "", tail: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """chat.postMessage arguments for a notice (error, busy, progress, empty answer)."""
    section = {"type": "section", "block_id": NOTICE_BLOCK, "text": mrkdwn(escape(text))}
    return {
        "text": escape(text),
        "blocks": tail if tail is not None else [section],
        "metadata": Mark.notice(kind, request_id).metadata,
    }


def question_message(question: str, *, user: str, asked: str) -> dict[str, Any]:
    """chat.postMessage arguments showing a question asked through the shortcut.

    The question was typed into a modal, so nobody in the thread would see what the
    answer answers; the bot posts it, quoted, under a line naming who asked. `asked`
    is the catalog's line with the asker's mention (`<@U…>`, kept as markup).
    """
    quoted = "\n".join(QUOTE + line for line in inert(question).splitlines() or [""])
    return {
        "text": f"{asked}\n{escape(question)}",
        "blocks": [
            {"type": "context", "block_id": ASKED_BLOCK, "elements": [mrkdwn(asked)]},
            {"type": "markdown", "block_id": QUESTION_BLOCK, "text": quoted},
        ],
        "metadata": Mark.question(user).metadata,
    }


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object."""
    return {"type": "mrkdwn", "text": text}
