"""What the model saw: one contact sheet under an answer about a series, and only then."""

from __future__ import annotations

import io
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.backends.base import ImagePart
from bot.imaging.contact_sheet import grid_for
from bot.settings import DEFAULT_PROMPTS
from bot.slack.webapi.posts import ANSWER_EVENT
from tests.e2e import harness
from tests.e2e.harness import png_bytes, running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack
from tests.imaging.helpers import ct_slices, dicom_bytes, parse

TITLE = "What the model saw: 5 image(s)"
COMMENT = "The images exactly as sent to the model, labelled as in the prompt."


def series(fake: FakeSlack, count: int = 5) -> list[dict[str, Any]]:
    return [
        fake.add_file(data, name=f"IM{i:04d}", mimetype="application/dicom", filetype="dcm")
        for i, data in enumerate(ct_slices(count))
    ]


def sheet_events(caplog: pytest.LogCaptureFixture) -> list[tuple[str, dict[str, Any]]]:
    return [
        (r.getMessage(), getattr(r, "fields", {}))
        for r in caplog.records
        if r.name == "bot.slack.question.sheets"
    ]


async def test_a_ct_series_gets_its_answer_then_one_sheet_in_the_thread(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("any haemorrhage?", files=series(fake_slack))
        answer, sheet = await h.replies(ts, count=2)
    assert answer["metadata"]["event_type"] == ANSWER_EVENT
    # The sheet comes after the answer, in the same thread, as the bot's own message.
    assert sheet["thread_ts"] == ts and float(sheet["ts"]) > float(answer["ts"])
    assert sheet["text"] == COMMENT and "metadata" not in sheet
    [file] = sheet["files"]
    assert (file["title"], file["mimetype"], file["alt_txt"]) == (TITLE, "image/png", TITLE)
    [shared] = fake_slack.uploads.shared
    assert (shared.channel, shared.thread_ts) == (h.channel, ts)
    [call] = fake_slack.calls_to("files.completeUploadExternal")
    assert (call["channel_id"], call["thread_ts"]) == (h.channel, ts)
    [(_, authorization)] = fake_slack.uploads.requests
    assert authorization is None  # the bot token goes to Slack's API, not to upload URLs
    # Its tiles are the model's own images, in the order sent (CT_small is 128 px:
    # shown at its own size, so each tile is exactly what the model got).
    sent = [p.image for p in backend.requests[0].messages[-1].parts if isinstance(p, ImagePart)]
    picture = Image.open(io.BytesIO(shared.content)).convert("RGB")
    grid = grid_for(5, largest_side=128)
    assert picture.size == grid.size
    for index, image in enumerate(sent):
        left, top = grid.origin(index)
        tile = picture.crop((left, top, left + grid.tile, top + grid.tile))
        assert np.array_equal(np.asarray(tile), np.asarray(image.convert("RGB"))), index


async def test_a_follow_up_does_not_send_the_sheet_back_to_the_model(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        root = await h.ask("describe", files=series(fake_slack))
        await h.replies(root, count=2)
        await h.ask("and the bones?", thread_ts=root, mention=False)
        await h.replies(root, count=4)
    follow_up = backend.requests[1].messages
    assert [m.role for m in follow_up] == ["user", "assistant", "user"]
    assert sum(len(m.images) for m in follow_up) == 5  # the series, not the sheet
    assert COMMENT not in str([m.text for m in follow_up])
    assert len(fake_slack.uploads.shared) == 2  # each answer shows what it was based on


async def test_the_sheet_speaks_the_askers_language(
    fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS, prompts)
    (prompts / "locales").mkdir(exist_ok=True)
    (prompts / "locales" / "es.toml").write_text(
        '[sheet]\ntitle = "Lo que vio el modelo: {count} imágenes"\ncomment = "Tal cual."\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(harness, "DEFAULT_PROMPTS", prompts)
    fake_slack.scopes = (*fake_slack.scopes, "users:read")
    fake_slack.add_user("U7", "rosa", locale="es-ES")
    async with running_bot(fake_slack, FakeBackend()) as h:
        ts = await h.ask("¿hemorragia?", files=series(fake_slack), user="U7")
        _, sheet = await h.replies(ts, count=2)
    assert sheet["text"] == "Tal cual."
    assert sheet["files"][0]["title"] == "Lo que vio el modelo: 5 imágenes"


async def test_a_photo_gets_no_sheet(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    photo = fake_slack.add_file(png_bytes(), name="x.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, FakeBackend()) as h:
        ts = await h.ask("what is this?", files=[photo])
        [reply] = await h.replies(ts)
    assert reply["metadata"]["event_type"] == ANSWER_EVENT
    assert fake_slack.calls_to("files.getUploadURLExternal") == []
    assert sheet_events(caplog) == []  # not tried at all


async def test_the_setting_turns_the_sheet_off(fake_slack: FakeSlack) -> None:
    async with running_bot(fake_slack, FakeBackend(), MEDGEMMA_CONTACT_SHEET="false") as h:
        ts = await h.ask("any haemorrhage?", files=series(fake_slack))
        [reply] = await h.replies(ts)
    assert reply["metadata"]["event_type"] == ANSWER_EVENT
    assert fake_slack.calls_to("files.getUploadURLExternal") == []


async def test_a_series_with_burned_in_annotation_gets_no_sheet(fake_slack: FakeSlack) -> None:
    # The asker is told to delete such a file; a copy of its pixels they cannot delete
    # (the bot's message) must not outlive it.
    slices = ct_slices(5)
    flagged = parse(slices[2])
    flagged.BurnedInAnnotation = "YES"
    slices[2] = dicom_bytes(flagged)
    files = [
        fake_slack.add_file(data, name=f"IM{i}", mimetype="application/dicom", filetype="dcm")
        for i, data in enumerate(slices)
    ]
    async with running_bot(fake_slack, FakeBackend()) as h:
        ts = await h.ask("any haemorrhage?", files=files)
        [reply] = await h.replies(ts)
    assert "burned into the image" in str(reply["blocks"])
    assert fake_slack.calls_to("files.getUploadURLExternal") == []


def without_files_write(fake: FakeSlack) -> None:
    fake.scopes = tuple(s for s in fake.scopes if s != "files:write")


FAILURES: dict[str, tuple[Callable[[FakeSlack], None], str]] = {
    "no files:write": (without_files_write, "missing_scope"),
    "complete 500": (
        lambda f: f.fail_next("files.completeUploadExternal", "internal_error", status=500),
        "internal_error",
    ),
    # The bytes' POST is retried (nothing is shared before the last call): 3 failures.
    "upload URL 503": (lambda f: f.uploads.fail_next_upload(503, times=3), "upload_refused"),
    "get URL 502": (
        lambda f: f.fail_next("files.getUploadURLExternal", "bad_gateway", status=502),
        "bad_gateway",
    ),
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_a_failed_upload_leaves_the_answer_alone(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    breaks, error = FAILURES[failure]
    breaks(fake_slack)
    async with running_bot(fake_slack, FakeBackend()) as h:
        ts = await h.ask("any haemorrhage?", files=series(fake_slack))
        await h.replies(ts)
        [reply] = h.bot_replies(ts)  # exactly one message: the answer, no error notice
    assert reply["metadata"]["event_type"] == ANSWER_EVENT
    assert fake_slack.uploads.shared == []
    [(name, fields)] = sheet_events(caplog)
    assert (name, fields["error"], fields["images"]) == ("sheet_failed", error, 5)
    assert set(fields) == {"error", "request_id", "channel", "images"}  # ids and counts only
    warned = [
        getattr(r, "fields", {}) for r in caplog.records if r.getMessage() == "missing_scopes"
    ]
    assert warned == ([{"scopes": ["files:write"]}] if failure == "no files:write" else [])


async def test_one_failed_post_of_the_bytes_is_tried_again(fake_slack: FakeSlack) -> None:
    fake_slack.uploads.fail_next_upload(503)
    async with running_bot(fake_slack, FakeBackend()) as h:
        ts = await h.ask("any haemorrhage?", files=series(fake_slack))
        await h.replies(ts, count=2)
    assert len(fake_slack.uploads.requests) == 2 and len(fake_slack.uploads.shared) == 1


async def test_a_shutdown_while_the_sheet_uploads_adds_no_notice(fake_slack: FakeSlack) -> None:
    fake_slack.delay("files.getUploadURLExternal", 5.0)
    h = await harness.start_bot(fake_slack, FakeBackend())
    ts = await h.ask("any haemorrhage?", files=series(fake_slack))
    await harness.wait_until(lambda: bool(fake_slack.calls_to("files.getUploadURLExternal")))
    await h.runner.stop(drain_s=0.2)
    [answer] = h.bot_replies(ts)  # the answer alone: no "I was restarting" under it
    assert answer["metadata"]["event_type"] == ANSWER_EVENT
