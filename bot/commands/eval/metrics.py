"""Scores as the MedGemma model cards report them; pure functions.

Normalisation, applied to the prediction and the reference alike: Unicode NFKC, lower
case, every punctuation character (Unicode category P, Chinese punctuation included)
becomes a space, the English number words zero to twenty become digits (VQA-RAD and
SLAKE references write "2" and "two" both), and the English articles a, an, the are
dropped (as SQuAD's tokenized F1 does).

Tokens: each CJK ideograph is a token of its own (Chinese is written without spaces and
SLAKE's Chinese answers are short phrases); any other run of non-space characters is a
token.

- Tokenized F1 (SQuAD's): precision and recall over the multiset of tokens the
  prediction and the reference share, their harmonic mean; an empty prediction scores 0.
- Closed questions: when the reference is a yes or a no (是/否, 有/没有 ...), the first
  yes or no word of the prediction is its answer ("not" and 不/没/无 count as no); with
  none, the answer is wrong. Any other closed reference ("left", "CT") must open the
  prediction: its tokens are the prediction's first tokens.
- Macro F1 (labels): per condition 2TP / (2TP + FP + FN), averaged over the conditions
  where it is defined (a condition with no positives, predicted or true, has none).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Polarity = Literal["yes", "no", ""]

_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
NUMBER_WORDS = {word: str(value) for value, word in enumerate(_NUMBERS)}
ARTICLES = frozenset({"a", "an", "the"})
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
YES_WORDS = frozenset({"yes", "是", "有", "对"})
NO_WORDS = frozenset({"no", "not", "否", "不", "没", "无"})
# Whole references that are a yes or a no; other closed references are matched as text.
_YES_REFERENCES = frozenset({"yes", "是", "有", "对", "是的"})
_NO_REFERENCES = frozenset({"no", "否", "不", "不是", "没有", "无"})


def normalize(text: str) -> str:
    """The text as scored: NFKC, lower case, punctuation to spaces, numbers as digits."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(NUMBER_WORDS.get(word, word) for word in text.split())


def tokens(text: str) -> list[str]:
    """The scored tokens of a text (CJK ideographs one by one), articles dropped."""
    return [t for t in _TOKEN.findall(normalize(text)) if t not in ARTICLES]


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style tokenized F1 between a prediction and a reference."""
    predicted, expected = tokens(prediction), tokens(reference)
    if not predicted or not expected:
        return float(predicted == expected)
    shared = sum((Counter(predicted) & Counter(expected)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(predicted), shared / len(expected)
    return 2 * precision * recall / (precision + recall)


def reference_polarity(reference: str) -> Polarity:
    """ "yes" or "no" when the whole reference is one, else ""."""
    text = "".join(tokens(reference))
    if text in _YES_REFERENCES:
        return "yes"
    if text in _NO_REFERENCES:
        return "no"
    return ""


def read_polarity(prediction: str) -> Polarity:
    """The first yes or no word of a prediction, "" when it has none."""
    for token in tokens(prediction):
        if token in YES_WORDS:
            return "yes"
        if token in NO_WORDS:
            return "no"
    return ""


def closed_correct(prediction: str, reference: str) -> bool:
    """Whether a closed question's prediction gives the reference answer."""
    polarity = reference_polarity(reference)
    if polarity:
        return read_polarity(prediction) == polarity
    expected = tokens(reference)
    return bool(expected) and tokens(prediction)[: len(expected)] == expected


@dataclass(frozen=True)
class Score:
    """One answer's scores: tokenized F1; for closed questions, whether it is right."""

    f1: float
    correct: bool | None  # None for open questions
    read_as: Polarity  # the yes/no read from the prediction, for yes/no references


def score(prediction: str, reference: str, *, closed: bool) -> Score:
    """Score one prediction against its reference."""
    polarity = reference_polarity(reference)
    return Score(
        f1=token_f1(prediction, reference),
        correct=closed_correct(prediction, reference) if closed else None,
        read_as=read_polarity(prediction) if polarity else "",
    )


@dataclass(frozen=True)
class Summary:
    """Figures over a set of answers, as fractions between 0 and 1."""

    n: int
    tokenized_f1: float | None
    n_closed: int
    closed_accuracy: float | None


def summarize(scores: Iterable[Score]) -> Summary:
    """Mean tokenized F1 over all answers and accuracy over the closed ones."""
    listed = list(scores)
    closed = [s.correct for s in listed if s.correct is not None]
    return Summary(
        n=len(listed),
        tokenized_f1=_mean([s.f1 for s in listed]),
        n_closed=len(closed),
        closed_accuracy=_mean([float(c) for c in closed]),
    )


@dataclass(frozen=True)
class Counts:
    """A condition's confusion counts."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, *, predicted: bool, actual: bool) -> Counts:
        """These counts with one more decision."""
        return Counts(
            tp=self.tp + (predicted and actual),
            fp=self.fp + (predicted and not actual),
            fn=self.fn + (actual and not predicted),
            tn=self.tn + (not predicted and not actual),
        )

    @property
    def f1(self) -> float | None:
        """2TP / (2TP + FP + FN); None when there are no positives at all."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None


def macro_f1(counts: Mapping[str, Counts]) -> float | None:
    """The mean of the conditions' F1 where it is defined."""
    return _mean([f for c in counts.values() if (f := c.f1) is not None])


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
