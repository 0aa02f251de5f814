"""Tests for bot.slack.webapi.replies: splitting long findings and the messages posted."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.pipeline.messages import Answer
from bot.prompts import Prompts, load_prompts
from bot.settings import DEFAULT_PROMPTS
from bot.slack.webapi.replies import answer_messages, notice_message, split_markdown

# Slack's documented limits for one chat.postMessage.
MAX_BLOCKS = 50
MAX_MARKDOWN_TOTAL = 12_000
MAX_CONTEXT_TEXT = 3_000
MAX_SECTION_TEXT = 3_000
FENCE = "```"

PROMPTS = load_prompts(DEFAULT_PROMPTS)


@pytest.fixture(scope="module")
def prompts() -> Prompts:
    return PROMPTS


def limit_errors(message: dict[str, Any]) -> list[str]:
    """Every Slack limit the message breaks."""
    blocks = message["blocks"]
    errors = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"{len(blocks)} blocks")
    markdown = sum(len(b["text"]) for b in blocks if b["type"] == "markdown")
    if markdown > MAX_MARKDOWN_TOTAL:
        errors.append(f"{markdown} markdown characters")
    for block in blocks:
        if block["type"] == "context":
            errors += [
                f"context element of {len(e['text'])}"
                for e in block["elements"]
                if len(e["text"]) > MAX_CONTEXT_TEXT
            ]
        if block["type"] == "section" and len(block["text"]["text"]) > MAX_SECTION_TEXT:
            errors.append("section text")
    return errors


def fences_balanced(chunk: str) -> bool:
    return chunk.count(FENCE) % 2 == 0


# --- split_markdown ------------------------------------------------------------------------


def test_short_text_is_one_chunk() -> None:
    assert split_markdown("No acute findings.", 100) == ["No acute findings."]


def test_empty_text_is_one_empty_chunk() -> None:
    assert split_markdown("", 100) == [""]


def test_text_of_exactly_the_limit_is_not_split() -> None:
    text = "word " * 19 + "last"  # 99 characters
    assert split_markdown(text + "!", 100) == [text + "!"]


# (case id, text, limit, expected first chunk): each break is well past the middle
BREAK_CASES: list[tuple[str, str, int, str]] = [
    (
        "paragraph preferred to a later line break",
        "a" * 60 + "\n\n" + "b" * 10 + "\n" + "c" * 60,
        100,
        "a" * 60 + "\n\n",
    ),
    (
        "line preferred to a later word break",
        "a" * 60 + "\n" + "b" * 10 + " " + "c" * 60,
        100,
        "a" * 60 + "\n",
    ),
    (
        "word break",
        "a" * 60 + " " + "b" * 10 + " " + "c" * 60,
        100,
        "a" * 60 + " " + "b" * 10 + " ",
    ),
    ("no break: hard split", "x" * 250, 100, None),
]


@pytest.mark.parametrize(
    ("name", "text", "limit", "first"), BREAK_CASES, ids=[c[0] for c in BREAK_CASES]
)
def test_cut_at_the_best_break(name: str, text: str, limit: int, first: str | None) -> None:
    chunks = split_markdown(text, limit)
    assert "".join(chunks) == text
    assert all(len(c) <= limit for c in chunks)
    if first is None:
        assert len(chunks) >= 3
        assert all(set(c) == {"x"} for c in chunks)
    else:
        assert chunks[0] == first


def test_code_block_closed_and_reopened_across_chunks() -> None:
    code = "\n".join(f"line {i:03d}" for i in range(40))
    text = "Findings:\n\n```\n" + code + "\n```\n\nImpression: normal."
    chunks = split_markdown(text, 120)
    assert len(chunks) > 2
    assert all(len(c) <= 120 for c in chunks)
    assert all(fences_balanced(c) for c in chunks)
    # Every chunk but the first that starts inside the block reopens it...
    inside = [c for c in chunks[1:] if "line" in c]
    assert all(c.startswith(FENCE + "\n") for c in inside)
    # ...and no code line is cut or lost.
    lines = [ln for c in chunks for ln in c.split("\n") if ln.startswith("line")]
    assert lines == code.split("\n")
    assert chunks[-1].endswith("Impression: normal.")


def test_chunk_ending_outside_a_block_is_not_touched() -> None:
    text = "```\ncode\n```\n\n" + "word " * 40
    chunks = split_markdown(text, 100)
    assert chunks[0].startswith("```\ncode\n```")
    assert "".join(chunks) == text


@pytest.mark.parametrize("limit", range(20, 80))
def test_hard_split_never_cuts_a_fence(limit: int) -> None:
    # No break anywhere: every cut is a hard one, and any of them could fall in a fence.
    text = "a" * 20 + FENCE + "code" + FENCE + "b" * 30 + FENCE + "c" * 40 + FENCE
    chunks = split_markdown(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert all(fences_balanced(c) for c in chunks)
    assert re.sub(r"[`\n]", "", "".join(chunks)) == re.sub(r"[`\n]", "", text)
    # A fence is never broken into backtick runs of other lengths.
    assert {len(run) for c in chunks for run in re.findall("`+", c)} == {3}


LIMITS = st.integers(min_value=20, max_value=300)
PLAIN = st.text(alphabet="ab `\n", max_size=800).filter(lambda t: FENCE not in t)
FENCED = st.lists(
    st.one_of(
        st.text(alphabet="ab \n", max_size=120),
        st.text(alphabet="ab", min_size=1, max_size=400),  # long words
        st.sampled_from([FENCE, FENCE + "\n", "\n" + FENCE + "\n", FENCE + "python\n"]),
    ),
    max_size=20,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=PLAIN, limit=LIMITS)
def test_without_fences_chunks_rebuild_the_text(text: str, limit: int) -> None:
    chunks = split_markdown(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert "".join(chunks) == text
    assert all(chunks) or chunks == [""]


@settings(max_examples=300, deadline=None)
@given(text=FENCED, limit=LIMITS)
@example(text="a" * 10 + FENCE + "a" * 8, limit=20)  # a hard cut once fell inside the fence
@example(text=FENCE + "a" + FENCE * 3 + "a" * 8, limit=20)  # ...or inside a run of fences
def test_with_fences_every_chunk_is_balanced(text: str, limit: int) -> None:
    chunks = split_markdown(text, limit)
    assert all(len(c) <= limit for c in chunks)
    # Every chunk renders on its own; the last one is as balanced as the whole text.
    assert all(fences_balanced(c) for c in chunks[:-1])
    assert fences_balanced(chunks[-1]) == fences_balanced(text)
    # Only fences and line breaks are added or removed.
    assert re.sub(r"[`\n]", "", "".join(chunks)) == re.sub(r"[`\n]", "", text)


@settings(max_examples=100, deadline=None)
@given(
    word=st.text(alphabet="xyz", min_size=1, max_size=2_000),
    limit=LIMITS,
    before=st.text(alphabet="ab ", max_size=50),
)
def test_long_words_are_hard_split(word: str, before: str, limit: int) -> None:
    text = before + word + " end"
    chunks = split_markdown(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert "".join(chunks) == text


def test_default_limit_fits_slack() -> None:
    text = ("A paragraph of findings. " * 40 + "\n\n") * 60
    chunks = split_markdown(text)
    assert len(chunks) > 1
    assert all(len(c) <= MAX_MARKDOWN_TOTAL for c in chunks)
    assert "".join(chunks) == text


# --- answer_messages -----------------------------------------------------------------------


def note_text(note: str) -> str:
    return PROMPTS.text("format", "note", note=note)


def context_texts(message: dict[str, Any]) -> list[str]:
    return [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]


RID = "ABCD1234"


def disclaimers(message: dict[str, Any]) -> list[str]:
    """The disclaimer blocks' texts: one Markdown paragraph, as a streamed answer ends."""
    blocks = [b for b in message["blocks"] if b["block_id"] == "disclaimer"]
    assert all(b["type"] == "markdown" for b in blocks)
    return [b["text"] for b in blocks]


def disclaimer_text(prompts: Prompts) -> str:
    """The disclaimer as it ends every `text` with findings (escaped as Slack reads it)."""
    return prompts.disclaimer.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_short_answer_is_one_message(prompts: Prompts) -> None:
    [message] = answer_messages(Answer("No acute findings."), prompts=prompts, request_id=RID)
    assert message["text"] == f"No acute findings.\n\n{disclaimer_text(prompts)}"
    assert message["blocks"][0] == {
        "type": "markdown",
        "block_id": "findings-1",
        "text": "No acute findings.",
    }
    assert message["metadata"] == {
        "event_type": "medgemma_answer",
        "event_payload": {"request_id": RID, "part": 1, "parts": 1},
    }
    assert context_texts(message) == []
    assert disclaimers(message) == [disclaimer_text(prompts)]
    assert [b["block_id"] for b in message["blocks"]] == ["findings-1", "disclaimer", "feedback"]
    assert limit_errors(message) == []


def test_feedback_buttons_carry_the_request_id_only(prompts: Prompts) -> None:
    [message] = answer_messages(Answer("Clear."), prompts=prompts, request_id=RID)
    [buttons] = message["blocks"][-1]["elements"]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == "feedback"
    assert buttons["positive_button"]["value"] == f"up:{RID}"
    assert buttons["negative_button"]["value"] == f"down:{RID}"
    assert buttons["positive_button"]["text"]["text"] == "Helpful"


def test_text_and_blocks_are_escaped(prompts: Prompts) -> None:
    [message] = answer_messages(
        Answer("Nodule <5 mm & stable >2 y, see [the guide](https://evil.example/x)"),
        prompts=prompts,
        request_id=RID,
    )
    shown = "Nodule &lt;5 mm &amp; stable &gt;2 y, see the guide (https://evil.example/x)"
    assert message["text"].startswith(shown + "\n\n")
    assert message["blocks"][0]["text"] == shown


def test_an_escaped_answer_is_split_within_the_limit_and_never_inside_an_entity(
    prompts: Prompts,
) -> None:
    findings = "&" * 10_000  # five times longer once escaped
    messages = answer_messages(Answer(findings), prompts=prompts, request_id=RID)
    parts = [m["blocks"][0]["text"] for m in messages]
    assert "".join(parts) == "&amp;" * 10_000
    assert all(limit_errors(m) == [] for m in messages)


def test_long_answer_in_parts_each_with_the_disclaimer(prompts: Prompts) -> None:
    findings = ("The lungs are clear. " * 50 + "\n\n") * 40  # ~42,000 characters
    notes = ("first note", "second note")
    messages = answer_messages(Answer(findings, notes=notes), prompts=prompts, request_id=RID)
    assert len(messages) >= 4
    ending = f"\n\n{disclaimer_text(prompts)}"
    assert all(m["text"].endswith(ending) for m in messages)
    assert "".join(m["text"].removesuffix(ending) for m in messages) == findings
    for i, message in enumerate(messages, start=1):
        assert message["metadata"] == {
            "event_type": "medgemma_answer",
            "event_payload": {"request_id": RID, "part": i, "parts": len(messages)},
        }
        findings_blocks = [b for b in message["blocks"] if b["block_id"].startswith("findings")]
        assert [b["text"] + ending for b in findings_blocks] == [message["text"]]
        assert disclaimers(message) == [disclaimer_text(prompts)]
        assert limit_errors(message) == []
    for message in messages[:-1]:
        assert message["blocks"][-1]["block_id"] == "disclaimer"
    assert [b["block_id"] for b in messages[-1]["blocks"][1:]] == [
        "disclaimer",
        "note-1",
        "note-2",
        "feedback",
    ]
    for message in messages[:-1]:
        assert context_texts(message) == []
    assert context_texts(messages[-1]) == [note_text("first note"), note_text("second note")]


def test_no_findings_is_a_notice(prompts: Prompts) -> None:
    notes = ("The model returned no answer.",)
    [message] = answer_messages(Answer("", notes=notes), prompts=prompts, request_id=RID)
    assert message["metadata"] == {
        "event_type": "medgemma_notice",
        "event_payload": {"kind": "empty", "request_id": RID},
    }
    assert message["text"] == "The model returned no answer."
    assert [b["type"] for b in message["blocks"]] == ["markdown", "context"]
    assert disclaimers(message) == [disclaimer_text(prompts)]
    assert context_texts(message) == [note_text(notes[0])]
    assert limit_errors(message) == []


def test_no_findings_and_no_notes_still_says_something(prompts: Prompts) -> None:
    [message] = answer_messages(Answer(""), prompts=prompts, request_id=RID)
    assert message["metadata"]["event_type"] == "medgemma_notice"
    assert message["text"] == disclaimer_text(prompts)
    assert disclaimers(message) == [disclaimer_text(prompts)]


def test_long_notes_are_cut_to_the_context_limit(prompts: Prompts) -> None:
    messages = answer_messages(Answer("ok", notes=("n" * 10_000,)), prompts=prompts, request_id=RID)
    [message] = messages
    assert limit_errors(message) == []
    assert context_texts(message)[0].startswith(note_text("n" * 10))


@settings(max_examples=60, deadline=None)
@given(
    findings=st.text(alphabet="ab `\n<&", max_size=40_000),
    notes=st.lists(st.text(max_size=4_000), max_size=8),  # [notes] has 8 kinds
)
def test_every_message_within_slack_limits(findings: str, notes: list[str]) -> None:
    messages = answer_messages(
        Answer(findings, notes=tuple(notes)), prompts=PROMPTS, request_id=RID
    )
    assert messages
    for message in messages:
        assert limit_errors(message) == []
        assert disclaimers(message) == [disclaimer_text(PROMPTS)]
        assert len(message["text"]) <= 40_000


# --- notice_message ------------------------------------------------------------------------


def test_notice_message(prompts: Prompts) -> None:
    message = notice_message("I'm busy & <away>.", kind="busy")
    assert message == {
        "text": "I'm busy &amp; &lt;away&gt;.",
        "blocks": [
            {
                "type": "section",
                "block_id": "notice",
                "text": {"type": "mrkdwn", "text": "I'm busy &amp; &lt;away&gt;."},
            }
        ],
        "metadata": {"event_type": "medgemma_notice", "event_payload": {"kind": "busy"}},
    }


def test_every_error_notice_fits_slack(prompts: Prompts) -> None:
    for key in prompts.messages["errors"]:
        message = prompts.text("errors", key, kind="DICOM", supported="PNG", limit_mb=50)
        text = prompts.text("format", "error", message=message, error_id="E123")
        assert limit_errors(notice_message(text, kind="error")) == [], key


def test_notes_go_out_inert(prompts: Prompts) -> None:
    hostile = "<!here> [open](https://evil.example)"
    [message] = answer_messages(Answer("Clear.", notes=(hostile,)), prompts=prompts, request_id=RID)
    [note] = [b for b in message["blocks"] if b.get("block_id") == "note-1"]
    assert note["elements"][0]["text"].endswith("&lt;!here&gt; open (https://evil.example)")
