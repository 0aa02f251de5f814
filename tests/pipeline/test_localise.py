"""bot.pipeline.localise: Google's prompt filled in, and boxes read back, as tables."""

from __future__ import annotations

import pytest

from bot.imaging.boxes import Box
from bot.pipeline.localise import localisation_prompt, parse_boxes
from bot.prompts import Prompts

CLAVICLE = Box(top=140, left=110, bottom=340, right=470, label="right clavicle")
REASONING = "The right clavicle is in the upper left of the image (the patient's right).\n"

# (case id, the model's answer, the boxes read, None: unreadable)
ANSWERS: list[tuple[str, str, tuple[Box, ...] | None]] = [
    (
        "Google's notebook output",
        'Final Answer: ```json[{"box_2d": [140, 110, 340, 470], "label": "right clavicle"}]```',
        (CLAVICLE,),
    ),
    (
        "reasoning first, a fenced block on its own lines",
        REASONING + "Final Answer:\n```json\n"
        '[{"box_2d": [140, 110, 340, 470], "label": "right clavicle"}]\n```',
        (CLAVICLE,),
    ),
    (
        "after a thinking trace that has a block of its own",
        '<unused94>thought ```json[{"box_2d": [1, 2, 3, 4]}]```<unused95>'
        'Final Answer: ```json[{"box_2d": [140, 110, 340, 470], "label": "right clavicle"}]```',
        (CLAVICLE,),
    ),
    (
        "the last block wins (the instructions' example may be echoed)",
        '```json[{"box_2d": [800, 3, 840, 471], "label": "car"}]``` then '
        '```json[{"box_2d": [140, 110, 340, 470], "label": "right clavicle"}]```',
        (CLAVICLE,),
    ),
    (
        "fractions, as the technical report has them",
        '```json[{"box_2d": [0.14, 0.11, 0.34, 0.47], "label": "right clavicle"}]```',
        (Box(top=140, left=110, bottom=340, right=470, label="right clavicle"),),
    ),
    (
        "two boxes, one without a label",
        '```json[{"box_2d": [100, 500, 600, 900], "label": "heart"}, '
        '{"box_2d": [0, 0, 10, 10]}]```',
        (Box(100, 500, 600, 900, "heart"), Box(0, 0, 10, 10, "")),
    ),
    (
        "one object, not a list",
        '```json{"box_2d": [0, 0, 10, 10], "label": "x"}```',
        (Box(0, 0, 10, 10, "x"),),
    ),
    ("no block", "The right clavicle is in the upper left.", None),
    ("not JSON", "```json[{box_2d: [1, 2, 3, 4]}]```", None),
    ("an empty list", "```json[]```", None),
    ("three numbers", '```json[{"box_2d": [1, 2, 3], "label": "x"}]```', None),
    ("a string among the numbers", '```json[{"box_2d": [1, "2", 3, 4], "label": "x"}]```', None),
    ("true is not a number", '```json[{"box_2d": [true, 2, 3, 4], "label": "x"}]```', None),
    ("outside the image", '```json[{"box_2d": [100, 100, 1200, 400], "label": "x"}]```', None),
    ("upside down", '```json[{"box_2d": [400, 100, 300, 200], "label": "x"}]```', None),
    ("no area", '```json[{"box_2d": [0, 0, 0, 0], "label": "x"}]```', None),
    ("a label that is not text", '```json[{"box_2d": [1, 2, 3, 4], "label": 7}]```', None),
    ("one bad box spoils them all", '```json[{"box_2d": [1, 2, 3, 4]}, {"box_2d": []}]```', None),
    ("nested beyond reason", "```json" + "[" * 100_000 + "]" * 100_000 + "```", None),
]


@pytest.mark.parametrize(("name", "answer", "expected"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_boxes_are_read_from_the_answer(
    name: str, answer: str, expected: tuple[Box, ...] | None
) -> None:
    assert parse_boxes(answer) == expected


# (the asker's question, the query in Google's prompt)
QUERIES = [
    ("Where is the right clavicle?", "Where is the right clavicle?"),
    ("where is the  tube tip", "where is the tube tip?"),
    ("右锁骨在哪里\uff1f", "右锁骨在哪里\uff1f"),
]


@pytest.mark.parametrize(("question", "query"), QUERIES)
def test_the_question_is_the_query(prompts: Prompts, question: str, query: str) -> None:
    prompt = localisation_prompt(prompts.abilities.localisation, question)
    assert f"Query:\n{query} Don't give a final answer without reasoning." in prompt
    # The notebook's f-string braces come out single, as the model saw them.
    assert '```json[{"box_2d": [800, 3, 840, 471], "label": "car"}, ' in prompt
    assert "{{" not in prompt and "{query}" not in prompt
