"""bot.pipeline.abilities: which ability a question asks for, in every catalog language."""

from __future__ import annotations

import re
import tomllib

import pytest

from bot.pipeline.abilities import Ability, Detector, can_localise
from bot.prompts import Prompts
from bot.settings import DEFAULT_PROMPTS

LOCATE, COMPARE, CONTINUE = Ability.LOCATE, Ability.COMPARE, Ability.CONTINUE

# (question, the ability it asks for)
QUESTIONS: list[tuple[str, Ability | None]] = [
    ("Where is the right clavicle?", LOCATE),
    ("where's the endotracheal tube tip", LOCATE),
    ("Can you localize the nodule?", LOCATE),
    ("Draw a bounding box around the heart", LOCATE),
    ("What do you see?", None),
    ("Is there a pneumothorax?", None),
    ("Any change since the prior film?", COMPARE),
    ("compare with the previous one", COMPARE),
    ("Is the effusion unchanged?", COMPARE),
    ("Comparison please", COMPARE),
    ("exchange of fluid?", None),  # "change" must start a word
    ("is there an interval change?", COMPARE),
    ("continue", CONTINUE),
    ("Continue please.", CONTINUE),
    ("  go on! ", CONTINUE),
    ("continue the explanation of the effusion", None),  # only a whole message continues
    ("¿Dónde está la clavícula derecha?", LOCATE),
    ("¿Hay cambios respecto a la radiografía previa?", COMPARE),
    ("continúe", CONTINUE),
    ("Où se trouve la sonde ?", LOCATE),
    ("Quelle évolution depuis le cliché antérieur ?", COMPARE),
    ("Continuez.", CONTINUE),
    ("Wo ist das rechte Schlüsselbein?", LOCATE),
    ("Was hat sich im Vergleich zur Voraufnahme verändert?", COMPARE),
    ("Ist die rechte Seite frei?", None),  # "seit" must end a word: not "Seite"
    ("weiter", CONTINUE),
    ("右鎖骨はどこですか\uff1f", LOCATE),
    ("前回と比較して変化はありますか\uff1f", COMPARE),
    ("続けて。", CONTINUE),
    ("Onde está a clavícula direita?", LOCATE),
    ("Houve mudança em relação à radiografia anterior?", COMPARE),
    ("continue por favor", CONTINUE),
    ("右锁骨在哪里\uff1f", LOCATE),
    ("和之前的片子比较有什么变化\uff1f", COMPARE),
    ("继续", CONTINUE),
    ("Where is the effusion on the previous film?", LOCATE),  # "where" first
]


@pytest.fixture(scope="module")
def detector(prompts: Prompts) -> Detector:
    return Detector.of(prompts.abilities.triggers)


@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_what_a_question_asks_for(
    detector: Detector, question: str, expected: Ability | None
) -> None:
    assert detector.asks(question) is expected


def test_every_catalog_language_has_its_words(prompts: Prompts) -> None:
    assert set(prompts.abilities.triggers) == set(prompts.languages)
    for language, words in prompts.abilities.triggers.items():
        assert words.locate and words.compare and words.continue_, language


def test_the_cut_note_names_a_word_that_continues(prompts: Prompts) -> None:
    """Each language's "reply *continue*" word is one its detector takes as "continue"."""
    detector = Detector.of(prompts.abilities.triggers)
    for language in prompts.languages:
        note = prompts.text("notes", "answer_cut", language=language, limit=10)
        [word] = re.findall(r"\*([^*]+)\*", note)
        assert detector.asks(word) is CONTINUE, (language, word)


def test_no_triggers_no_abilities() -> None:
    detector = Detector.of({})
    assert detector.asks("Where is the heart? continue") is None
    assert detector.asks("continue") is None


@pytest.mark.parametrize(
    ("model", "able"),
    [
        ("google/medgemma-1.5-4b-it", True),
        ("/srv/models/medgemma-1.5-4b-it", True),
        ("google/medgemma-4b-it", False),
        ("google/medgemma-27b-it", False),
    ],
)
def test_which_models_draw_boxes(model: str, able: bool) -> None:
    assert can_localise(model) is able


def test_the_localisation_prompt_is_googles_notebook_text() -> None:
    """The prompt keeps the notebook's wording: box order, 0-1000, the json block, laterality."""
    with (DEFAULT_PROMPTS / "abilities.toml").open("rb") as file:
        prompt = tomllib.load(file)["localisation"]["prompt"]
    assert prompt.startswith("Instructions:\nThe following user query will require outputting")
    assert "[y0, x0, y1, x1] where (y0, x0) must be top-left corner" in prompt
    assert "Always normalize the x and y coordinates the range [0, 1000]" in prompt
    assert "enclosed into ```json...``` brackets" in prompt
    assert '"left" refers to the patient\'s left side where the heart is' in prompt
    assert prompt.endswith('The object needs a "box_2d" and "label" key. Answer:')
