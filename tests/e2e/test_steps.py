"""A series or a slide shows its steps as tasks in the answer's stream (issue 20, item 4).

Slack's streams take `task_update` and `plan_update` chunks, and `task_display_mode`
"plan" shows the tasks together above the text (chat.startStream). A question about a
CT series starts its stream with them and moves each task to "complete", or the running
one to "error" when the work stops; other questions' streams carry no tasks.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from bot.errors import BackendUnavailable
from bot.prompts import Prompts
from bot.slack.question import streaming
from bot.slack.surfaces.stop import STOP_ACTION
from tests.e2e.harness import is_sheet, png_bytes, running_bot, wait_until
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_chat import Stream
from tests.imaging.helpers import ct_slices

DM = "D1"
WORDS = [f"word{n} " for n in range(30)]
SAID = "".join(WORDS).strip()
STREAMING = {"MEDGEMMA_STREAMING": "on"}


@pytest.fixture(autouse=True)
def quick_flushes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "FLUSH_S", 0.05)


def ct_zip(fake_slack: FakeSlack, slices: int = 12) -> dict[str, Any]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for i, data in enumerate(ct_slices(slices)):
            zipped.writestr(f"study/IM{i}.dcm", data)
    return fake_slack.add_file(
        buffer.getvalue(), name="study.zip", mimetype="application/zip", filetype="zip"
    )


def the_stream(fake_slack: FakeSlack) -> Stream:
    [stream] = fake_slack.streams.values()
    return stream


def kind(message: dict[str, Any]) -> str:
    return str((message.get("metadata") or {}).get("event_payload", {}).get("kind", ""))


def statuses(stream: Stream) -> dict[str, str]:
    return {id_: task["status"] for id_, task in stream.tasks().items()}


async def test_a_ct_series_in_a_dm_shows_its_steps_then_the_answer(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    backend = FakeBackend().then(Step(chunks=WORDS, chunk_delay_s=0.01))
    file = ct_zip(fake_slack)
    async with running_bot(fake_slack, backend, transport=transport, **STREAMING) as h:
        ts = await h.ask("any bleed?", files=[file], channel=DM, channel_type="im")
        reply, sheet = await h.replies(ts, count=2, channel=DM)
    stream = the_stream(fake_slack)
    assert stream.task_display_mode == "plan" and not stream.open
    [start] = fake_slack.calls_to("chat.startStream")
    assert start["task_display_mode"] == "plan"
    assert start["chunks"][0] == {"type": "plan_update", "title": "Reading the series"}
    tasks = stream.tasks()
    assert list(tasks) == ["read", "prepare", "ask"]  # in the order they are done
    assert [t["title"] for t in tasks.values()] == [
        "Reading 12 slices",
        prompts.text("steps", "prepare_ct"),
        "Asking the model",
    ]
    assert statuses(stream) == {"read": "complete", "prepare": "complete", "ask": "complete"}
    # The model's task showed running while the answer streamed, and ended complete
    # with the stream (the newest state goes out: steps done between flushes merge).
    asks = [c["status"] for c in stream.chunks if c.get("id") == "ask"]
    assert asks[0] in ("pending", "in_progress") and asks[-1] == "complete"
    [stop] = fake_slack.calls_to("chat.stopStream")
    assert "in_progress" in asks[:-1] and {"id": "ask"}.items() <= stop["chunks"][0].items()
    assert reply["text"] == f"{SAID}\n\n{prompts.disclaimer}" and is_sheet(sheet)
    assert "study" not in str(stream.chunks) and "IM0" not in str(stream.chunks)


async def test_a_stopped_series_ends_its_running_task_in_error(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    backend = FakeBackend().then(Step(chunks=WORDS, chunk_delay_s=0.02, hang_after=10))
    file = ct_zip(fake_slack)
    async with running_bot(fake_slack, backend, transport=transport, **STREAMING) as h:
        ts = await h.ask("any bleed?", files=[file])
        await wait_until(lambda: bool(fake_slack.calls_to("chat.appendStream")))
        await wait_until(lambda: any(kind(m) == "progress" for m in h.bot_replies(ts)))
        [button] = [m for m in h.bot_replies(ts) if kind(m) == "progress"]
        await h.interact(
            fake_slack.interactive.click(channel="C1", ts=button["ts"], action_id=STOP_ACTION)
        )
        await h.settle()
    stream = the_stream(fake_slack)
    assert statuses(stream) == {"read": "complete", "prepare": "complete", "ask": "error"}
    assert not stream.open
    [stop] = fake_slack.calls_to("chat.stopStream")
    assert prompts.text("stream", "stopped") in str(stop)  # the stream's one last line


async def test_a_failed_model_ends_the_asking_task_in_error(
    fake_slack: FakeSlack, transport: str
) -> None:
    step = Step(chunks=WORDS, chunk_delay_s=0.01, error=BackendUnavailable(), error_after=12)
    backend = FakeBackend().then(step)
    file = ct_zip(fake_slack)
    async with running_bot(fake_slack, backend, transport=transport, **STREAMING) as h:
        ts = await h.ask("any bleed?", files=[file], channel=DM, channel_type="im")
        await h.replies(ts, channel=DM)
    stream = the_stream(fake_slack)
    assert statuses(stream) == {"read": "complete", "prepare": "complete", "ask": "error"}
    assert not stream.open


async def test_a_refused_archive_gets_its_notice_and_shows_no_steps(
    fake_slack: FakeSlack, transport: str
) -> None:
    # The refusal comes while the files are read, before anything says they are a
    # series: there is no plan to show, only the notice, as for any refused file.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("notes.txt", "no images here")
    file = fake_slack.add_file(
        buffer.getvalue(), name="study.zip", mimetype="application/zip", filetype="zip"
    )
    async with running_bot(fake_slack, FakeBackend(), transport=transport, **STREAMING) as h:
        ts = await h.ask("any bleed?", files=[file], channel=DM, channel_type="im")
        [notice] = await h.replies(ts, channel=DM)
    assert not fake_slack.streams
    assert notice["metadata"]["event_payload"]["kind"] == "error"


async def test_a_one_image_question_streams_without_tasks(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend().then(Step(chunks=WORDS, chunk_delay_s=0.01))
    file = fake_slack.add_file(png_bytes(), name="film.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, transport=transport, **STREAMING) as h:
        ts = await h.ask("what do you see?", files=[file], channel=DM, channel_type="im")
        await h.replies(ts, channel=DM)
    stream = the_stream(fake_slack)
    assert stream.tasks() == {} and stream.task_display_mode == "timeline"
    assert not any(c["type"] != "markdown_text" for c in stream.chunks)
    for call in fake_slack.calls_to("chat.startStream") + fake_slack.calls_to("chat.stopStream"):
        assert "chunks" not in call and "task_display_mode" not in call
