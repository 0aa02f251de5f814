"""Lab report values: the question that asks for them, the request they get, and the
answer read back as a table checked against the PDF's text layer."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.backends.base import ImagePart, TextPart
from bot.imaging.types import DecodedFile, Layout, ModelImage
from bot.pipeline.abilities import Ability, Detector
from bot.pipeline.extraction import (
    LabValue,
    check_values,
    parse_values,
    table_rows,
    value_notes,
    without_values,
)
from bot.pipeline.messages import DecodedMessage, Message
from bot.pipeline.plans import Planner
from bot.prompts import Prompts
from bot.settings import Settings
from bot.specialty import Specialty
from tests.fakes.backend import FakeBackend

ANSWER = (
    "The white cell count is above its range.\n\n```json\n"
    '[{"name": "Haemoglobin", "result": "13.2", "unit": "g/dL", "reference_range": "12.0-15.5"},'
    ' {"name": "White cell count", "result": 11.8, "unit": "x10^9/L"},'
    ' {"name": "Platelets", "result": "205", "unit": "x10^9/L"}]\n```'
)
PAGE = "Haemoglobin 13.2 g/dL 12.0-15.5\nWhite cell count 11,8 x10^9/L\nPlatelets 250 x10^9/L"
HEADERS = {
    "test": "Test",
    "result": "Result",
    "unit": "Unit",
    "range": "Range",
    "check": "Check",
    "found": "ok",
    "unchecked": "NOT FOUND",
}


def document(pages: int = 2, *, total: int | None = None) -> DecodedFile:
    images = tuple(ModelImage(Image.new("RGB", (8, 8)), f"PAGE {n}") for n in range(1, pages + 1))
    return DecodedFile(
        kind="document",
        images=images,
        source_format="pdf",
        layout=Layout.PAGES,
        total_slices=total or pages,
        text_layer=(PAGE,) * pages,
    )


def photo() -> DecodedFile:
    return DecodedFile(
        kind="photo", images=(ModelImage(Image.new("RGB", (8, 8))),), source_format="jpeg"
    )


def user(text: str, *files: DecodedFile) -> DecodedMessage:
    return Message("user", text, files=files)


@pytest.mark.parametrize(
    "question",
    [
        "What are the values in this report?",
        "¿Cuáles son los valores de la analítica?",
        "Quelles sont les valeurs du bilan sanguin ?",
        "Welche Laborwerte sind auffällig?",
        "Quais são os valores dos exames laboratoriais?",
        "这份化验单的数值是多少",
        "この検査結果の数値を教えてください",
    ],
)
def test_values_are_asked_for_in_every_language(prompts: Prompts, question: str) -> None:
    assert Detector.of(prompts.abilities.triggers).asks(question) is Ability.EXTRACT


@pytest.mark.parametrize("question", ["What does this show?", "Where is the nodule?"])
def test_other_questions_do_not_ask_for_values(prompts: Prompts, question: str) -> None:
    assert Detector.of(prompts.abilities.triggers).asks(question) is not Ability.EXTRACT


def test_a_pdf_values_question_is_one_turn_of_pages_then_the_instruction(
    prompts: Prompts,
) -> None:
    planner = Planner(backend=FakeBackend(), prompts=prompts, settings=Settings(max_images=2))
    report = document(3)
    plan = planner.plan([user("List the values", report)], specialty=Specialty.RADIOLOGIST)
    assert plan.ability is Ability.EXTRACT and plan.document is report
    [turn] = plan.conv.messages  # no system turn: the instruction is in the user turn
    kinds = [type(p).__name__ for p in turn.parts]
    assert kinds == ["ImagePart", "TextPart", "ImagePart", "TextPart", "TextPart"]
    assert [p.text for p in turn.parts[1:4:2] if isinstance(p, TextPart)] == ["PAGE 1", "PAGE 2"]
    last = turn.parts[-1]
    assert isinstance(last, TextPart) and last.text.endswith("Question:\nList the values")
    assert '"reference_range"' in last.text and "patient identifiers" in last.text
    assert plan.conv.notes == (("pages_used", {"used": 2, "total": 3}),)


def test_a_photo_of_a_report_gets_the_extraction_instruction_not_the_radiologist(
    prompts: Prompts,
) -> None:
    planner = Planner(backend=FakeBackend(), prompts=prompts, settings=Settings())
    plan = planner.plan(
        [user("what are the lab values?", photo())], specialty=Specialty.RADIOLOGIST
    )
    assert plan.ability is Ability.EXTRACT
    [turn] = plan.conv.messages
    assert isinstance(turn.parts[0], ImagePart)
    assert "expert radiologist" not in str(turn.parts)


def test_a_values_question_without_a_document_or_photo_is_a_plain_question(
    prompts: Prompts,
) -> None:
    ct = DecodedFile(
        kind="series",
        images=(ModelImage(Image.new("RGB", (8, 8)), "SLICE 1"),),
        source_format="zip",
        modality="CT",
        layout=Layout.VOLUME,
    )
    planner = Planner(backend=FakeBackend(), prompts=prompts, settings=Settings())
    plan = planner.plan([user("what are the HU values?", ct)], specialty=Specialty.RADIOLOGIST)
    assert plan.ability is None


def test_the_values_are_read_from_the_last_json_block() -> None:
    values = parse_values(ANSWER)
    assert values is not None
    assert [v.name for v in values] == ["Haemoglobin", "White cell count", "Platelets"]
    assert values[1].result == "11.8" and values[1].reference_range == ""
    assert without_values(ANSWER) == "The white cell count is above its range."


@pytest.mark.parametrize(
    "answer", ["no table here", "```json\n{not json\n```", '```json\n[{"name": "x"}]\n```']
)
def test_answers_without_values_give_none(answer: str) -> None:
    assert parse_values(answer) is None


def test_a_value_not_in_the_text_layer_is_flagged() -> None:
    values = parse_values(ANSWER)
    assert values is not None
    checked = check_values(values, [PAGE])
    # 13.2 printed as is; 11.8 printed with a decimal comma; 205 is not there (250 is).
    assert [v.in_text for v in checked] == [True, True, False]
    assert value_notes(checked, has_text=True) == [
        ("values_table", {}),
        ("values_unchecked", {"count": 1}),
    ]


def test_a_number_matches_only_as_a_whole_number() -> None:
    [value] = check_values([LabValue("Sodium", "13.2")], ["Sodium 113.25 mmol/L"])
    assert value.in_text is False


def test_without_a_text_layer_nothing_is_checked() -> None:
    values = (LabValue("Haemoglobin", "13.2"),)
    assert check_values(values, ["", " "])[0].in_text is None
    assert value_notes(values, has_text=False)[-1] == ("values_no_text", {})
    assert table_rows(values, headers=HEADERS) == (
        ("Test", "Result", "Unit", "Range"),
        ("Haemoglobin", "13.2", "", ""),
    )


def test_the_table_has_a_check_column_where_the_text_was_searched() -> None:
    checked = check_values([LabValue("Hb", "13.2", "g/dL"), LabValue("Plt", "205")], [PAGE])
    rows = table_rows(checked, headers=HEADERS)
    assert rows[0] == ("Test", "Result", "Unit", "Range", "Check")
    assert rows[1][-1] == "ok" and rows[2][-1] == "NOT FOUND"
