"""A series' or a slide's steps as Slack's plan and task chunks (bot.slack.question.steps)."""

from __future__ import annotations

import pytest

from bot.pipeline.steps import SetKind, Status, Step, Steps, Task, advanced
from bot.prompts import Prompts
from bot.slack.question.steps import TaskChunks, task_title

TASKS = (Task.READ, Task.PREPARE, Task.ASK)


def steps_of(kind: SetKind, *statuses: Status, count: int = 85) -> Steps:
    steps = tuple(Step(task, status) for task, status in zip(TASKS, statuses, strict=True))
    return Steps(kind=kind, count=count, steps=steps)


@pytest.mark.parametrize(
    ("kind", "read", "prepare"),
    [
        (SetKind.CT, "Reading 85 slices", "Windowing the slices (lung, soft tissue, brain)"),
        (SetKind.MR, "Reading 85 slices", "Scaling the slices"),
        (SetKind.VOLUME, "Reading 85 slices", "Preparing the slices"),
        (SetKind.SLIDE, "Reading 85 tissue patches", "Preparing the tissue patches"),
    ],
)
def test_titles_say_counts_and_what_is_done(
    prompts: Prompts, kind: SetKind, read: str, prepare: str
) -> None:
    steps = steps_of(kind, Status.DONE, Status.RUNNING, Status.PENDING)
    titles = [task_title(steps, task, prompts=prompts, language="en") for task in TASKS]
    assert titles == [read, prepare, "Asking the model"]


def test_titles_follow_the_asker_language(prompts: Prompts) -> None:
    steps = steps_of(SetKind.CT, Status.DONE, Status.RUNNING, Status.PENDING, count=12)
    assert task_title(steps, Task.READ, prompts=prompts, language="de") == (
        "12 Schichten werden gelesen"
    )


def test_the_plan_title_comes_first_then_only_what_changed(prompts: Prompts) -> None:
    chunks = TaskChunks(prompts, "en")
    assert chunks.pending() == []  # no steps told: nothing to show
    first = steps_of(SetKind.SLIDE, Status.DONE, Status.RUNNING, Status.PENDING, count=16)
    chunks.update(first)
    sent = chunks.pending()
    assert sent[0] == {"type": "plan_update", "title": "Reading the slide"}
    assert [(c["id"], c["status"]) for c in sent[1:]] == [
        ("read", "complete"),
        ("prepare", "in_progress"),
        ("ask", "pending"),
    ]
    assert chunks.pending() == sent  # unsent until Slack has them
    chunks.sent(sent)
    assert chunks.pending() == []
    chunks.update(advanced(first))
    assert [(c["id"], c["status"]) for c in chunks.pending()] == [
        ("prepare", "complete"),
        ("ask", "in_progress"),
    ]


def test_a_stop_fails_the_running_task(prompts: Prompts) -> None:
    chunks = TaskChunks(prompts, "en")
    chunks.update(steps_of(SetKind.CT, Status.DONE, Status.DONE, Status.RUNNING))
    chunks.sent(chunks.pending())
    chunks.fail()
    [chunk] = chunks.pending()
    assert chunk == {
        "type": "task_update",
        "id": "ask",
        "title": "Asking the model",
        "status": "error",
    }
