"""bot.backends.base.estimate_text_tokens: a count that does not fall short of Gemma's."""

from __future__ import annotations

import math
import unicodedata

import pytest

from bot.backends.base import estimate_text_tokens

# (case id, text, the estimate). Gemma 3's tokenizer gives each digit a token, and at
# most one to a punctuation mark, a symbol, a whitespace character or a common CJK
# character; the old estimate (UTF-8 bytes / 3) is in the comment where it fell short.
CASES: list[tuple[str, str, int]] = [
    ("empty", "", 0),
    ("a plain sentence", "The heart is enlarged.", 8),  # bytes/3: 8
    ("a long medical word", "hepatosplenomegaly", 6),
    ("digits", "1234567890", 10),  # bytes/3: 4
    ("lab values", "Na 140 mmol/L, K 4.1", 15),  # bytes/3: 7
    ("a table row", "| 12.5 | 0.93 | 1e-3 |", 22),  # bytes/3: 8
    ("a date and a time", "2024-03-07 14:05", 16),  # bytes/3: 6
    ("punctuation", "?!.,;:()[]{}", 12),  # bytes/3: 4
    ("Japanese", "肺炎の所見はありません。", 12),
    ("Chinese with digits", "左肺下叶见3.5cm结节", 11),  # bytes/3: 9
    ("full-width digits", "\uff11\uff12\uff13", 3),
    ("an accented word", "Röntgen", 3),
    ("Cyrillic", "пневмония", 6),
    ("an emoji", "😀", 2),
    ("newlines and indentation", "a\n\n    b", 7),  # bytes/3: 3
    ("Latin letters beside CJK", "CT検査", 3),
]


@pytest.mark.parametrize(("name", "text", "tokens"), CASES, ids=[c[0] for c in CASES])
def test_estimate(name: str, text: str, tokens: int) -> None:
    assert estimate_text_tokens(text) == tokens


def counted_alone(text: str) -> int:
    """Characters Gemma never merges with a neighbour's letters: a floor for any count."""
    return sum(
        ch.isdigit()
        or unicodedata.category(ch)[0] in "PSZ"
        or ch.isspace()
        or "CJK" in unicodedata.name(ch, "")
        or "HIRAGANA" in unicodedata.name(ch, "")
        for ch in text
    )


@pytest.mark.parametrize(("name", "text", "tokens"), CASES, ids=[c[0] for c in CASES])
def test_the_estimate_holds_for_digits_punctuation_and_cjk(
    name: str, text: str, tokens: int
) -> None:
    estimate = estimate_text_tokens(text)
    assert estimate >= counted_alone(text) - text.count(" ")  # a space before a word is free
    assert estimate >= math.ceil(len(text.encode("utf-8")) / 4)  # never below the old rate
    assert estimate <= len(text.encode("utf-8"))  # byte fallback's ceiling
