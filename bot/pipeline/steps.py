"""The steps of answering about a series or a slide, as plain values a front may show.

Pure. Reading a CT or MR volume or a whole slide, preparing its images and asking the
model take long enough that a front may show them as they happen (Slack shows them as
tasks in a stream). Which set it is comes from what the imaging package decoded
(`layout`, `intensity`, `modality`): nothing here names a file or quotes a header, only
counts. A one-image question, frames over time or a text question have no steps.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.imaging.types import DecodedFile, Intensity, Layout


class Task(StrEnum):
    """One step of the work, in the order it is done."""

    READ = "read"  # the files read and decoded: the count of slices or patches
    PREPARE = "prepare"  # the images made ready for the model: windowed, scaled, sampled
    ASK = "ask"  # the model asked, its answer streaming


class Status(StrEnum):
    """Where a step stands (the values are Slack's task statuses, by design of both)."""

    PENDING = "pending"
    RUNNING = "in_progress"
    DONE = "complete"
    FAILED = "error"


class SetKind(StrEnum):
    """What the set is, as far as its steps are told."""

    CT = "ct"  # a CT volume in Google's three windows
    MR = "mr"  # an MR volume on one scale
    VOLUME = "volume"  # another volume (slices of one acquisition)
    SLIDE = "slide"  # tissue patches of a whole slide


@dataclass(frozen=True)
class Step:
    """One task and where it stands."""

    task: Task
    status: Status


@dataclass(frozen=True)
class Steps:
    """The steps of one question about a set, each with its status."""

    kind: SetKind
    count: int  # slices or patches read (before any thinning for the model)
    steps: tuple[Step, ...]

    def status(self, task: Task) -> Status:
        """Where `task` stands."""
        return next(step.status for step in self.steps if step.task is task)


StepCallback = Callable[[Steps], None]


def set_kind(file: DecodedFile) -> SetKind | None:
    """The kind of set a decoded file is, None for anything that shows no steps."""
    if file.layout is Layout.PATCHES:
        return SetKind.SLIDE
    if not file.is_series:
        return None
    if file.intensity is Intensity.CT_WINDOWS:
        return SetKind.CT
    return SetKind.MR if file.modality == "MR" else SetKind.VOLUME


def first_steps(files: Sequence[DecodedFile]) -> Steps | None:
    """The steps once the newest message's files are read: read, preparing, then ask.

    The first series or slide among them names the steps; None when there is none.
    """
    for file in files:
        kind = set_kind(file)
        if kind is not None:
            steps = (
                Step(Task.READ, Status.DONE),
                Step(Task.PREPARE, Status.RUNNING),
                Step(Task.ASK, Status.PENDING),
            )
            return Steps(kind=kind, count=file.total_slices, steps=steps)
    return None


def advanced(steps: Steps) -> Steps:
    """The running step done and the next one running (the last: all done)."""
    statuses = [step.status for step in steps.steps]
    if Status.RUNNING not in statuses:
        return steps
    running = statuses.index(Status.RUNNING)
    statuses[running] = Status.DONE
    if running + 1 < len(statuses):
        statuses[running + 1] = Status.RUNNING
    return _with(steps, statuses)


def failed(steps: Steps) -> Steps:
    """The running step failed (a refusal, an error, a stop); those after it never ran."""
    statuses = [Status.FAILED if s.status is Status.RUNNING else s.status for s in steps.steps]
    return _with(steps, statuses)


def _with(steps: Steps, statuses: Sequence[Status]) -> Steps:
    news = tuple(Step(s.task, status) for s, status in zip(steps.steps, statuses, strict=True))
    return dataclasses.replace(steps, steps=news)


class StepReporter:
    """Tells a front each change of a question's steps (nothing when there are none)."""

    def __init__(self, steps: Steps | None, on_step: StepCallback | None) -> None:
        self._steps = steps if on_step is not None else None
        self._on_step = on_step
        self._tell()

    def advance(self) -> None:
        """The running step is done; the next one runs."""
        if self._steps is not None:
            self._steps = advanced(self._steps)
            self._tell()

    @contextlib.contextmanager
    def running(self) -> Iterator[StepReporter]:
        """The work inside: done, its running step is done; whatever stops it (an error,
        a cancellation) fails that step."""
        try:
            yield self
        except BaseException:
            if self._steps is not None:
                self._steps = failed(self._steps)
                self._tell()
            raise
        self.advance()

    def _tell(self) -> None:
        if self._steps is not None and self._on_step is not None:
            self._on_step(self._steps)
