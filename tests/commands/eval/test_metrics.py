"""The scoring rules of bot.commands.eval.metrics, as input/expected tables worked out by hand."""

from __future__ import annotations

import pytest

from bot.commands.eval.metrics import (
    Counts,
    closed_correct,
    macro_f1,
    read_polarity,
    reference_polarity,
    score,
    summarize,
    token_f1,
    tokens,
)
from bot.commands.eval.published import card_for


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Liver!", ["liver"]),  # lower case, punctuation, article dropped
        ("an apple, a pear", ["apple", "pear"]),
        ("two  lesions", ["2", "lesions"]),  # number words become digits
        ("Twenty-one", ["20", "1"]),  # the hyphen is punctuation: two words, two numbers
        ("\uff2c\uff25\uff26\uff34", ["left"]),  # NFKC folds full-width LEFT
        ("肝脏。", ["肝", "脏"]),  # Chinese: one token per character, 。 is punctuation
        ("CT扫描", ["ct", "扫", "描"]),
        ("T2-weighted", ["t2", "weighted"]),
        ("", []),
        ("  ...  ", []),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("liver", "the liver", 1.0),
        ("Liver.", "liver", 1.0),
        # 1 shared of 3 predicted, of 1 expected: P 1/3, R 1 -> 2(1/3)/(4/3) = 1/2
        ("liver and kidney", "liver", 0.5),
        # 1 shared of 2 and of 2: P = R = 1/2 -> 1/2
        ("right lung", "left lung", 0.5),
        ("two", "2", 1.0),
        # Chinese: 肝 against 肝脏, P 1, R 1/2 -> 2(1/2)/(3/2) = 2/3
        ("肝", "肝脏", 2 / 3),
        ("肝脏", "肝脏", 1.0),
        ("心脏", "肝脏", 0.5),  # 脏 shared: P = R = 1/2
        # a repeated token counts once per occurrence in the reference: P 1/2, R 1 -> 2/3
        ("yes yes", "yes", 2 / 3),
        ("", "liver", 0.0),  # an empty prediction scores 0
        ("   ", "yes", 0.0),
        ("the", "liver", 0.0),  # only an article: empty after normalising
        ("kidney", "liver", 0.0),
    ],
)
def test_token_f1(prediction: str, reference: str, expected: float) -> None:
    assert token_f1(prediction, reference) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("Yes.", "yes", True),
        ("yes, there is a fracture", "Yes", True),
        ("No, it is not enlarged", "yes", False),
        ("There is no fracture.", "no", True),  # the first yes/no word decides
        ("The heart is not enlarged.", "no", True),  # "not" reads as no
        ("Yes, although not clearly", "yes", True),
        ("Maybe.", "no", False),  # neither: wrong
        ("", "yes", False),  # an empty prediction is wrong
        ("是", "是", True),
        ("是的", "是", True),
        ("不是", "是", False),  # 不 comes first
        ("没有。", "没有", True),  # 没有 is a no
        ("有", "没有", False),
        ("否", "否", True),
        # closed but not yes/no: the reference must open the prediction
        ("Left side.", "left", True),
        ("left", "Left", True),
        ("right and left", "left", False),
        ("", "left", False),
        ("CT scan", "CT", True),
    ],
)
def test_closed_correct(prediction: str, reference: str, expected: bool) -> None:
    assert closed_correct(prediction, reference) is expected


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("Yes", "yes"), ("no", "no"), ("是", "yes"), ("否", "no"), ("没有", "no"), ("left", "")],
)
def test_reference_polarity(reference: str, expected: str) -> None:
    assert reference_polarity(reference) == expected


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [("Yes.", "yes"), ("There is no effusion", "no"), ("I cannot tell.", ""), ("", "")],
)
def test_read_polarity(prediction: str, expected: str) -> None:
    assert read_polarity(prediction) == expected


def test_open_questions_have_no_correctness() -> None:
    assert score("liver", "liver", closed=False).correct is None
    assert score("Yes", "yes", closed=True).read_as == "yes"
    assert score("Yes", "left", closed=True).read_as == ""  # not a yes/no reference


def test_summary_means_f1_over_all_and_accuracy_over_closed() -> None:
    scores = [
        score("Yes.", "yes", closed=True),  # F1 1, right
        score("no", "yes", closed=True),  # F1 0, wrong
        score("liver and kidney", "liver", closed=False),  # F1 1/2
    ]
    summary = summarize(scores)
    # F1: (1 + 0 + 1/2) / 3 = 1/2; closed: 1 right of 2 = 1/2
    assert summary.n == 3 and summary.n_closed == 2
    assert summary.tokenized_f1 == pytest.approx(0.5)
    assert summary.closed_accuracy == pytest.approx(0.5)


def test_an_empty_summary_has_no_figures() -> None:
    summary = summarize([score("liver", "liver", closed=False)])
    assert summary.closed_accuracy is None and summary.n_closed == 0
    assert summarize([]).tokenized_f1 is None


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (Counts(tp=1, fp=1, fn=1, tn=1), 0.5),  # 2 / (2 + 1 + 1)
        (Counts(tp=1, fp=0, fn=0, tn=2), 1.0),
        (Counts(tp=0, fp=2, fn=1, tn=0), 0.0),
        (Counts(tp=0, fp=0, fn=0, tn=5), None),  # no positives: undefined
    ],
)
def test_condition_f1(counts: Counts, expected: float | None) -> None:
    assert counts.f1 == (pytest.approx(expected) if expected is not None else None)


def test_macro_f1_averages_the_defined_conditions() -> None:
    counts = {
        "effusion": Counts(tp=1, fp=1, fn=1, tn=1),  # 1/2
        "pneumothorax": Counts(tp=1, tn=2),  # 1
        "fracture": Counts(tn=4),  # undefined: left out
    }
    assert macro_f1(counts) == pytest.approx((0.5 + 1.0) / 2)
    assert macro_f1({"fracture": Counts(tn=4)}) is None


def test_counts_add_one_decision() -> None:
    counts = Counts().add(predicted=True, actual=True).add(predicted=True, actual=False)
    counts = counts.add(predicted=False, actual=True).add(predicted=False, actual=False)
    assert counts == Counts(tp=1, fp=1, fn=1, tn=1)


@pytest.mark.parametrize(
    ("model", "card"),
    [
        ("google/medgemma-1.5-4b-it", "MedGemma 1.5 4B-it"),
        ("google/medgemma-4b-it", "MedGemma 4B-it"),
        ("/models/medgemma-1.5-4b-it", "MedGemma 1.5 4B-it"),
    ],
)
def test_a_run_compares_with_its_models_card(model: str, card: str) -> None:
    assert card_for(model) == card
