"""The bot's post format: marks written and read back, answers recognised, recovery's test."""

from __future__ import annotations

from typing import Any

import pytest

from bot.pipeline.messages import Answer
from bot.prompts import Prompts
from bot.slack.webapi.posts import (
    ANSWER_EVENT,
    NOTICE_EVENT,
    Identity,
    Mark,
    answer_findings,
    is_answer,
    posts_of,
    replied,
    shown_question,
)
from bot.slack.webapi.replies import answer_messages, notice_message, question_message

BOT = Identity(bot_user_id="UBOT", bot_id="BBOT")


def posted(message: dict[str, Any], *, ts: str = "1.1") -> dict[str, Any]:
    """A message as conversations.replies returns one of the bot's posts."""
    return {"ts": ts, "bot_id": BOT.bot_id, "user": BOT.bot_user_id, **message}


@pytest.mark.parametrize(
    ("mark", "metadata"),
    [
        (
            Mark.answer("R1", part=2, parts=3),
            {
                "event_type": ANSWER_EVENT,
                "event_payload": {"request_id": "R1", "part": 2, "parts": 3},
            },
        ),
        (
            Mark.notice("busy", "R2"),
            {"event_type": NOTICE_EVENT, "event_payload": {"kind": "busy", "request_id": "R2"}},
        ),
        (
            Mark.notice("progress"),
            {"event_type": NOTICE_EVENT, "event_payload": {"kind": "progress"}},
        ),
        (
            Mark.question("U1"),
            {"event_type": "medgemma_question", "event_payload": {"user": "U1"}},
        ),
    ],
)
def test_a_mark_is_written_as_metadata_and_read_back(mark: Mark, metadata: dict[str, Any]) -> None:
    assert mark.metadata == metadata
    assert Mark.of({"metadata": metadata}) == mark


def test_other_metadata_and_other_peoples_messages_carry_no_mark() -> None:
    assert Mark.of({"metadata": {"event_type": "someone_else", "event_payload": {}}}) is None
    assert Mark.of({"text": "no metadata"}) is None
    theirs = {"ts": "1.1", "user": "U1", "metadata": Mark.answer("R1").metadata}
    assert not is_answer(theirs, BOT)


def test_every_part_of_a_long_answer_is_marked_in_order(prompts: Prompts) -> None:
    findings = "\n\n".join(f"Paragraph {i}. " + "word " * 400 for i in range(12))
    messages = answer_messages(Answer(findings=findings), prompts=prompts, request_id="R7")
    marks = [Mark.of(m) for m in messages]
    assert len(marks) > 1
    assert marks == [Mark.answer("R7", part=n, parts=len(marks)) for n in range(1, len(marks) + 1)]
    later = answer_messages(
        Answer(findings="rest"), prompts=prompts, request_id="R7", parts_before=1
    )
    assert [Mark.of(m) for m in later] == [Mark.answer("R7", part=2, parts=2)]


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ([], False),
        ([Mark.notice("progress", "R1")], False),  # a placeholder is not an answer
        ([Mark.notice("error", "R1")], True),  # the asker was told what to do
        ([Mark.answer("R1", part=1, parts=2)], False),  # half an answer
        ([Mark.answer("R1", part=1, parts=2), Mark.answer("R1", part=2, parts=2)], True),
        ([Mark.notice("progress", "R1"), Mark.answer("R1")], True),
    ],
)
def test_replied_means_a_whole_answer_or_a_notice_to_act_on(
    marks: list[Mark], expected: bool
) -> None:
    assert replied([posted({"metadata": m.metadata}) for m in marks]) is expected


def test_posts_of_one_request_are_found_by_their_metadata() -> None:
    thread = [
        {"ts": "1.0", "user": "U1", "text": "question"},
        posted({"metadata": Mark.answer("R1").metadata}, ts="1.1"),
        posted({"metadata": Mark.notice("error", "R2").metadata}, ts="1.2"),
    ]
    assert [m["ts"] for m in posts_of(thread, "R1")] == ["1.1"]


def test_an_answer_reads_back_as_its_findings(prompts: Prompts) -> None:
    answer = Answer(findings="A <b> & c, see https://example.org", notes=("a note",))
    [message] = answer_messages(answer, prompts=prompts, request_id="R1")
    stored = posted(message)  # Slack keeps text escaped, as posted
    assert is_answer(stored, BOT)
    findings = answer_findings(stored["text"], disclaimers=prompts.disclaimers)
    assert findings == answer.findings


def test_a_shown_question_reads_back_as_its_asker_and_text() -> None:
    message = question_message("line one\nline two", user="U9", asked="<@U9> asked")
    assert shown_question(posted(message), BOT) == ("U9", "line one\nline two")
    assert shown_question(posted(notice_message("busy", kind="busy")), BOT) is None
