"""A series' or a slide's steps as the task chunks of Slack's streams.

chat.startStream (https://docs.slack.dev/reference/methods/chat.startStream/) takes
`chunks` and `task_display_mode`: "plan" shows the task updates together in one plan
block above the streamed text. chat.appendStream and chat.stopStream take `chunks` too
(slack_sdk 3.40, "Chat Stream Structured Content"). A `plan_update` chunk carries the
plan's `title`; a `task_update` chunk an `id`, a `title` and a `status` (pending,
in_progress, complete or error), the same id updating the same task. Titles come from
the prompts' [steps] section and hold counts only, never a file name or a header value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.pipeline.steps import SetKind, Steps, Task, failed
from bot.prompts import Prompts

DISPLAY_MODE = "plan"  # the tasks together in one plan block, the answer's text below

_PLAN = {SetKind.SLIDE: "plan_slide"}  # else "plan_series"
_PREPARE = {
    SetKind.CT: "prepare_ct",
    SetKind.MR: "prepare_mr",
    SetKind.VOLUME: "prepare_volume",
    SetKind.SLIDE: "prepare_slide",
}


def task_title(steps: Steps, task: Task, *, prompts: Prompts, language: str) -> str:
    """The title a task shows, in the asker's language."""
    if task is Task.READ:
        key = "read_patches" if steps.kind is SetKind.SLIDE else "read_slices"
        return prompts.text("steps", key, language=language, count=steps.count)
    key = _PREPARE[steps.kind] if task is Task.PREPARE else "ask"
    return prompts.text("steps", key, language=language)


def stream_content(
    shown: str, chunks: Sequence[dict[str, Any]], *, start: bool = False
) -> dict[str, Any]:
    """A stream call's text and tasks: `markdown_text` alone as ever, or all as chunks.

    A stream started with tasks shows them as one plan above the text.
    """
    if not chunks:
        return {"markdown_text": shown}
    text = [{"type": "markdown_text", "text": shown}] if shown else []
    mode = {"task_display_mode": DISPLAY_MODE} if start else {}
    return {"chunks": [*chunks, *text], **mode}


@dataclass
class TaskChunks:
    """One answer's tasks: the chunks each change needs, each change sent once."""

    prompts: Prompts
    language: str
    latest: Steps | None = None  # as the pipeline last told them
    _sent: dict[str, str] = field(default_factory=dict)  # each task's status as sent, by id
    _titled: bool = False  # the plan's title was sent

    def update(self, steps: Steps) -> None:
        """The pipeline's step callback: keep the newest steps."""
        self.latest = steps

    def fail(self) -> None:
        """The work stopped: the running task ends in error."""
        if self.latest is not None:
            self.latest = failed(self.latest)

    def pending(self) -> list[dict[str, Any]]:
        """The chunks not yet sent: the plan's title first, then each changed task."""
        steps = self.latest
        if steps is None:
            return []
        chunks: list[dict[str, Any]] = []
        if not self._titled:
            key = _PLAN.get(steps.kind, "plan_series")
            title = self.prompts.text("steps", key, language=self.language)
            chunks.append({"type": "plan_update", "title": title})
        for step in steps.steps:
            if self._sent.get(step.task.value) == step.status.value:
                continue
            title = task_title(steps, step.task, prompts=self.prompts, language=self.language)
            chunks.append(
                {
                    "type": "task_update",
                    "id": step.task.value,
                    "title": title,
                    "status": step.status.value,
                }
            )
        return chunks

    def sent(self, chunks: Sequence[dict[str, Any]]) -> None:
        """Slack has these chunks: they are not sent again."""
        for chunk in chunks:
            if chunk["type"] == "plan_update":
                self._titled = True
            elif chunk["type"] == "task_update":
                self._sent[chunk["id"]] = chunk["status"]
