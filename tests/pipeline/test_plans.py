"""bot.pipeline.plans and recipes: which request a question gets, under each model.

MedGemma 1.5 gets Google's one-turn recipes (the film then the localisation prompt; the
prior, the current film, then the question); MedGemma 1 gets the conversation, with a
note where a "where is" question would have had boxes.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from PIL import Image

from bot.backends.base import ImagePart, TextPart
from bot.imaging.types import DecodedFile, Layout, ModelImage
from bot.pipeline.abilities import Ability
from bot.pipeline.messages import DecodedMessage, Message
from bot.pipeline.plans import Planner
from bot.pipeline.recipes import Film, films, prior_and_current
from bot.prompts import Prompts
from bot.settings import Settings
from bot.specialty import Specialty
from tests.fakes.backend import FakeBackend

MG15 = "google/medgemma-1.5-4b-it"
MG1 = "google/medgemma-4b-it"
RADIOLOGIST = Specialty.RADIOLOGIST


def film(*, modality: str | None = None, taken: str | None = None, shade: int = 0) -> DecodedFile:
    image = Image.new("RGB", (8, 8), (shade, shade, shade))
    return DecodedFile(
        kind="radiograph" if modality else "photo",
        images=(ModelImage(image),),
        source_format="dicom" if modality else "png",
        modality=modality,
        taken=taken,
    )


def ct() -> DecodedFile:
    images = tuple(ModelImage(Image.new("RGB", (8, 8)), f"SLICE {n}") for n in range(1, 4))
    return DecodedFile(
        kind="series", images=images, source_format="zip", modality="CT", layout=Layout.VOLUME
    )


def planner(prompts: Prompts, model: str = MG15, **settings: object) -> Planner:
    return Planner(
        backend=FakeBackend(), prompts=prompts, settings=Settings(model=model, **settings)
    )


def user(text: str, *files: DecodedFile) -> DecodedMessage:
    return Message("user", text, files=files)


def test_where_under_15_is_one_turn_of_the_film_then_googles_prompt(prompts: Prompts) -> None:
    xray = film()
    plan = planner(prompts).plan(
        [user("Where is the right clavicle?", xray)], specialty=RADIOLOGIST
    )
    assert plan.ability is Ability.LOCATE and plan.film is not None and plan.film.file is xray
    [turn] = plan.conv.messages  # no system turn, no history
    image, text = turn.parts
    assert isinstance(image, ImagePart) and image.image is xray.images[0].image
    assert isinstance(text, TextPart) and text.text.startswith("Instructions:\n")
    assert "Query:\nWhere is the right clavicle? Don't give a final answer" in text.text
    assert plan.conv.max_new_tokens == 1000  # the notebook's
    assert plan.conv.shown == ()  # the boxes image shows it: no contact sheet


def test_where_in_a_follow_up_is_about_the_latest_film(prompts: Prompts) -> None:
    first, second = film(shade=1), film(shade=2)
    thread = [
        user("describe", first),
        Message("assistant", "Clear lungs."),
        user("and this one", second),
        Message("assistant", "An effusion."),
        user("where is it?"),
    ]
    plan = planner(prompts).plan(thread, specialty=RADIOLOGIST)
    assert plan.film is not None and plan.film.file is second
    assert len(plan.conv.messages) == 1


@pytest.mark.parametrize(
    ("files", "specialty"),
    [
        ((ct(),), RADIOLOGIST),  # a series is no chest X-ray
        ((film(modality="MG"),), RADIOLOGIST),  # nor a mammogram
        ((film(),), Specialty.DERMATOLOGIST),  # nor a skin photo
        ((), RADIOLOGIST),  # nothing to draw on
    ],
)
def test_where_without_a_film_is_a_plain_question(
    prompts: Prompts, files: tuple[DecodedFile, ...], specialty: Specialty
) -> None:
    plan = planner(prompts).plan([user("where is the lesion?", *files)], specialty=specialty)
    assert plan.ability is None and plan.notes == ()


def test_where_under_medgemma_1_is_answered_in_words_with_a_note(
    prompts: Prompts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    plan = planner(prompts, MG1).plan([user("Where is the heart?", film())], specialty=RADIOLOGIST)
    assert plan.ability is None and plan.notes == (("no_boxes", {}),)
    assert [m.role for m in plan.conv.messages] == ["system", "user"]
    assert plan.conv.messages[1].text == "Where is the heart?"
    [record] = [r for r in caplog.records if r.getMessage() == "ability_unavailable"]
    assert record.fields["trained_model"] == MG15  # type: ignore[attr-defined]


def test_compare_under_15_sends_prior_current_then_the_question(prompts: Prompts) -> None:
    older, newer = film(shade=1), film(shade=2)
    thread = [user("first film", older), Message("assistant", "Clear."), user("now?", newer)]
    thread[-1] = user("any change since the prior?", newer)
    plan = planner(prompts).plan(thread, specialty=RADIOLOGIST)
    assert plan.ability is Ability.COMPARE
    [turn] = plan.conv.messages
    first, second, text = turn.parts
    assert isinstance(first, ImagePart) and first.image is older.images[0].image
    assert isinstance(second, ImagePart) and second.image is newer.images[0].image
    assert isinstance(text, TextPart)
    assert text.text == prompts.abilities.safety + "\n\nany change since the prior?"
    assert plan.conv.max_new_tokens == 600
    assert plan.conv.notes == (("prior_by_message", {}), ("comparison", {}))
    assert plan.conv.shown == (older, newer)  # the contact sheet shows them in that order


def test_compare_under_medgemma_1_is_the_conversation(prompts: Prompts) -> None:
    thread = [user("first", film()), Message("assistant", "Clear."), user("any change?", film())]
    plan = planner(prompts, MG1).plan(thread, specialty=RADIOLOGIST)
    assert plan.ability is None and plan.notes == ()
    assert [m.role for m in plan.conv.messages] == ["system", "user", "assistant", "user"]


# (case id, the films in thread order, the expected prior and current, the note)
PAIRS: list[tuple[str, list[Film], tuple[int, int], str]] = [
    ("by message", [Film(film(), 0, 0), Film(film(), 2, 0)], (0, 1), "prior_by_message"),
    ("same message: by file", [Film(film(), 0, 0), Film(film(), 0, 1)], (0, 1), "prior_by_file"),
    (
        "the dates win over the order",
        [
            Film(film(modality="DX", taken="20240301"), 0, 0),
            Film(film(modality="DX", taken="20230105"), 0, 1),
        ],
        (1, 0),
        "prior_by_date",
    ),
    (
        "the same date: the order",
        [
            Film(film(modality="DX", taken="20240301"), 0, 0),
            Film(film(modality="DX", taken="20240301"), 2, 0),
        ],
        (0, 1),
        "prior_by_message",
    ),
    (
        "one date only: the order",
        [Film(film(modality="DX", taken="20250101"), 0, 0), Film(film(), 0, 1)],
        (0, 1),
        "prior_by_file",
    ),
    (
        "three films: the latest two",
        [Film(film(), 0, 0), Film(film(), 1, 0), Film(film(), 2, 0)],
        (1, 2),
        "prior_by_message",
    ),
]


@pytest.mark.parametrize(("name", "found", "order", "note"), PAIRS, ids=[p[0] for p in PAIRS])
def test_which_film_is_the_prior(
    name: str, found: list[Film], order: tuple[int, int], note: str
) -> None:
    pair = prior_and_current(found)
    assert pair is not None
    prior, current, how = pair
    assert (prior, current) == (found[order[0]], found[order[1]])
    assert how == (note, {})


def test_films_are_single_2d_images_that_may_be_chest_x_rays() -> None:
    kept = [film(), film(modality="CR"), film(modality="DX")]
    thread = [user("q", *kept, ct(), film(modality="US"), film(modality="MG"))]
    assert [f.file for f in films(thread, specialty=RADIOLOGIST)] == kept
    assert films(thread, specialty=Specialty.PATHOLOGIST) == []


def test_continue_asks_the_model_to_go_on_after_its_cut_answer(prompts: Prompts) -> None:
    thread = [user("describe", film()), Message("assistant", "The lungs are"), user("continue")]
    plan = planner(prompts).plan(thread, specialty=RADIOLOGIST)
    assert plan.ability is Ability.CONTINUE
    roles = [m.role for m in plan.conv.messages]
    assert roles == ["user", "assistant", "user"]
    assert plan.conv.messages[1].text == "The lungs are"
    assert plan.conv.messages[-1].text.endswith(prompts.abilities.continuation)
    assert len(plan.conv.messages[0].images) == 1  # the image stays in the request


def test_continue_with_nothing_to_continue_is_a_plain_message(prompts: Prompts) -> None:
    plan = planner(prompts).plan([user("continue", film())], specialty=RADIOLOGIST)
    assert plan.ability is None
    assert plan.conv.messages[-1].text.endswith("continue")


@pytest.mark.parametrize(
    ("model", "profile", "safety"),
    [
        (MG15, "auto", True),
        (MG15, "google", True),
        (MG1, "google", True),
        (MG1, "auto", False),
        (MG15, "bot", False),
    ],
)
def test_the_safety_line_goes_where_no_system_prompt_has_it(
    prompts: Prompts, model: str, profile: str, safety: bool
) -> None:
    plan = planner(prompts, model, prompt_profile=profile).plan(
        [user("Describe.", film())], specialty=RADIOLOGIST
    )
    newest = plan.conv.messages[-1]
    expected = f"{prompts.abilities.safety}\n\nDescribe." if safety else "Describe."
    assert newest.text == expected
    assert isinstance(newest.parts[0], ImagePart)  # the image first, the question last


def test_every_profile_asks_not_to_copy_patient_identifiers(prompts: Prompts) -> None:
    for specialty in Specialty:
        assert "patient identifiers" in prompts.system_prompt(specialty), specialty
    assert "patient identifiers" in prompts.abilities.safety


def test_a_custom_profile_setting_does_not_change_the_recipes(prompts: Prompts) -> None:
    settings = replace(Settings(model=MG15), prompt_profile="bot")
    plan = Planner(backend=FakeBackend(), prompts=prompts, settings=settings).plan(
        [user("Where is the heart?", film())], specialty=RADIOLOGIST
    )
    assert [m.role for m in plan.conv.messages] == ["user"]  # Google's recipe, no system
