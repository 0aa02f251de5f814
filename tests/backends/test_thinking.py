"""Tests for bot.backends.thinking."""

from __future__ import annotations

import pytest

from bot.backends.thinking import THOUGHT_END, THOUGHT_START, ThinkingFilter

# (case id, chunks as streamed, expected visible text, ended inside a thought)
CASES: list[tuple[str, list[str], str, bool]] = [
    ("no trace", ["No acute ", "findings."], "No acute findings.", False),
    ("empty stream", [], "", False),
    ("trace then answer", ["<unused94>thought\nlook<unused95>Normal."], "Normal.", False),
    (
        "markers split across chunks",
        ["<unu", "sed94>thou", "ght\nhmm<unus", "ed9", "5>\n\n", "Cardio", "megaly."],
        "Cardiomegaly.",
        False,
    ),
    ("whitespace after trace", ["<unused94>x<unused95>  \n", "\n Effusion."], "Effusion.", False),
    ("leading whitespace, no trace", ["\n\n  ", " Clear lungs."], "Clear lungs.", False),
    ("whitespace before trace", ["\n<unused94>x<unused95>\nYes."], "Yes.", False),
    ("thought never closed", ["<unused94>thought\n", "the patient..."], "", True),
    ("only the opening marker", ["<unused94>"], "", True),
    ("stray closing marker", ["plan<unused95>\n Answer."], "planAnswer.", False),
    ("marker-like text kept", ["a <unused9", "0> b <unused"], "a <unused90> b <unused", False),
    ("lone angle bracket at end", ["x <"], "x <", False),
    (
        "two traces",
        ["<unused94>a<unused95>One. <unused94>b<unused95> Two."],
        "One. Two.",
        False,
    ),
    ("answer keeps inner whitespace", ["<unused94>t<unused95>A\n\n  B "], "A\n\n  B ", False),
]
IDS = [case[0] for case in CASES]


def run_filter(chunks: list[str]) -> tuple[list[str], ThinkingFilter]:
    """Feed chunks through a new filter; return every returned piece and the filter."""
    thinking = ThinkingFilter()
    pieces = [thinking.feed(chunk) for chunk in chunks]
    pieces.append(thinking.flush())
    return pieces, thinking


@pytest.mark.parametrize(("name", "chunks", "expected", "ended_in_thought"), CASES, ids=IDS)
def test_filter_as_streamed(
    name: str, chunks: list[str], expected: str, ended_in_thought: bool
) -> None:
    pieces, thinking = run_filter(chunks)
    assert "".join(pieces) == expected
    assert thinking.ended_in_thought is ended_in_thought
    assert thinking.has_answer is bool(expected.strip())


@pytest.mark.parametrize(("name", "chunks", "expected", "ended_in_thought"), CASES, ids=IDS)
def test_filter_one_character_at_a_time(
    name: str, chunks: list[str], expected: str, ended_in_thought: bool
) -> None:
    pieces, thinking = run_filter(list("".join(chunks)))
    assert "".join(pieces) == expected
    assert thinking.ended_in_thought is ended_in_thought


@pytest.mark.parametrize(
    ("chunk", "shown_now"),
    [
        ("Hello", "Hello"),
        ("Hello <", "Hello "),
        ("Hello <unused9", "Hello "),
        ("Hello <unused", "Hello "),
        ("Hello <unusual", "Hello <unusual"),
        ("1 < 2", "1 < 2"),
    ],
)
def test_text_without_markers_passes_at_once(chunk: str, shown_now: str) -> None:
    assert ThinkingFilter().feed(chunk) == shown_now


def test_holds_back_less_than_a_marker() -> None:
    text = "The heart <is> normal in size <unused; lungs <unused9 clear."
    thinking = ThinkingFilter()
    shown = ""
    for end, char in enumerate(text, start=1):
        shown += thinking.feed(char)
        assert len(text[:end]) - len(shown) < len(THOUGHT_START)
    assert shown + thinking.flush() == text


def test_in_thought_tracks_the_stream() -> None:
    thinking = ThinkingFilter()
    assert thinking.feed(THOUGHT_START + "weighing") == ""
    assert thinking.in_thought
    assert thinking.feed(THOUGHT_END + " Answer") == "Answer"
    assert not thinking.in_thought
    assert thinking.flush() == ""
    assert not thinking.ended_in_thought


def test_long_thought_is_not_buffered() -> None:
    thinking = ThinkingFilter()
    for _ in range(1000):
        thinking.feed("thinking hard " * 10)
    thinking.feed(THOUGHT_START)
    for _ in range(1000):
        assert thinking.feed("more thought " * 10) == ""
    # Only a possible marker prefix may be kept while inside a thought.
    assert len(thinking._pending) < len(THOUGHT_END)
