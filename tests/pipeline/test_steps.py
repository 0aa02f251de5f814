"""The steps of a question about a series or a slide, as plain values (bot.pipeline.steps)."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.imaging.types import DecodedFile, Intensity, Layout, ModelImage
from bot.pipeline.steps import (
    SetKind,
    Status,
    Step,
    StepReporter,
    Steps,
    Task,
    advanced,
    failed,
    first_steps,
    set_kind,
)

P, R, D, F = Status.PENDING, Status.RUNNING, Status.DONE, Status.FAILED


def decoded(**fields: object) -> DecodedFile:
    image = ModelImage(image=Image.new("RGB", (4, 4)))
    values: dict[str, object] = {"kind": "photo", "images": (image,), "source_format": "png"}
    return DecodedFile(**{**values, **fields})  # type: ignore[arg-type]


CT = decoded(
    kind="series",
    layout=Layout.VOLUME,
    intensity=Intensity.CT_WINDOWS,
    modality="CT",
    total_slices=85,
)
MR = decoded(kind="series", layout=Layout.VOLUME, intensity=Intensity.MIN_MAX, modality="MR")
PT = decoded(kind="series", layout=Layout.VOLUME, intensity=Intensity.MIN_MAX, modality="PT")
SLIDE = decoded(kind="pathology", layout=Layout.PATCHES, total_slices=16)
CINE = decoded(kind="frames", layout=Layout.CINE, total_slices=30)
PHOTO = decoded()
FILM = decoded(kind="radiograph", source_format="dicom", modality="CR")


@pytest.mark.parametrize(
    ("file", "kind"),
    [
        (CT, SetKind.CT),
        (MR, SetKind.MR),
        (PT, SetKind.VOLUME),
        (SLIDE, SetKind.SLIDE),
        (CINE, None),  # frames over time: no steps
        (PHOTO, None),
        (FILM, None),
    ],
)
def test_which_sets_show_steps(file: DecodedFile, kind: SetKind | None) -> None:
    assert set_kind(file) is kind


def statuses(steps: Steps) -> list[Status]:
    return [step.status for step in steps.steps]


def test_the_first_set_names_the_steps_and_its_count() -> None:
    steps = first_steps([PHOTO, SLIDE, CT])
    assert steps is not None
    assert (steps.kind, steps.count) == (SetKind.SLIDE, 16)
    assert [s.task for s in steps.steps] == [Task.READ, Task.PREPARE, Task.ASK]
    assert statuses(steps) == [D, R, P]
    assert first_steps([PHOTO, FILM]) is None and first_steps([]) is None


@pytest.mark.parametrize(
    ("before", "after_advance", "after_failure"),
    [
        ([D, R, P], [D, D, R], [D, F, P]),
        ([D, D, R], [D, D, D], [D, D, F]),
        ([D, D, D], [D, D, D], [D, D, D]),  # done stays done
    ],
)
def test_advancing_and_failing(
    before: list[Status], after_advance: list[Status], after_failure: list[Status]
) -> None:
    tasks = (Task.READ, Task.PREPARE, Task.ASK)
    steps = Steps(
        kind=SetKind.CT,
        count=85,
        steps=tuple(Step(task, status) for task, status in zip(tasks, before, strict=True)),
    )
    assert statuses(advanced(steps)) == after_advance
    assert statuses(failed(steps)) == after_failure


def test_the_reporter_tells_each_change_and_fails_the_running_step() -> None:
    told: list[list[Status]] = []
    reporter = StepReporter(first_steps([CT]), lambda s: told.append(statuses(s)))
    with pytest.raises(RuntimeError), reporter.running() as steps:
        steps.advance()
        raise RuntimeError("the model failed")
    assert told == [[D, R, P], [D, D, R], [D, D, F]]


def test_work_that_ends_well_completes_the_running_step() -> None:
    told: list[list[Status]] = []
    with StepReporter(first_steps([SLIDE]), lambda s: told.append(statuses(s))).running() as steps:
        steps.advance()
    assert told == [[D, R, P], [D, D, R], [D, D, D]]


def test_the_reporter_is_silent_without_a_set_or_a_listener() -> None:
    told: list[Steps] = []
    reporter = StepReporter(None, told.append)
    reporter.advance()
    StepReporter(first_steps([CT]), None).advance()
    assert told == []
