"""share_sheet against the fake Slack: posted, or logged and False, never raised."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from PIL import Image
from slack_sdk.web.async_client import AsyncWebClient

from bot.imaging.types import ModelImage
from bot.settings import load_settings
from bot.slack.question.sheets import FILENAME, share_sheet
from bot.slack.webapi.client import web_client
from tests.fakes.slack import FakeSlack

CHANNEL = "C1"
IMAGES = tuple(
    ModelImage(Image.new("RGB", (32, 32), (i * 40, 0, 0)), f"SLICE {i + 1}") for i in range(3)
)


def client_for(fake: FakeSlack, *, rate_limit_retries: int = 0) -> AsyncWebClient:
    settings = load_settings({"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_API_URL": fake.api_url})
    return web_client(settings, rate_limit_retries=rate_limit_retries)


async def share(fake: FakeSlack, *, client: AsyncWebClient | None = None, **overrides: Any) -> bool:
    root = fake.post_bot_message(channel=CHANNEL, text="question")
    arguments: dict[str, Any] = {
        "images": IMAGES,
        "channel": CHANNEL,
        "thread_ts": root["ts"],
        "title": "What the model saw: 3 image(s)",
        "comment": "As sent.",
        "request_id": "ABCD1234",
        **overrides,
    }
    return await share_sheet(client or client_for(fake), **arguments)


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, dict[str, Any]]]:
    return [
        (r.getMessage(), getattr(r, "fields", {}))
        for r in caplog.records
        if r.name == "bot.slack.question.sheets"
    ]


async def test_a_shared_sheet_is_logged_with_ids_and_sizes(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    assert await share(fake_slack)
    [shared] = fake_slack.uploads.shared
    assert shared.file["name"] == FILENAME
    [(name, fields)] = logged(caplog)
    assert name == "sheet_posted" and fields["bytes"] == len(shared.content)
    assert fields["request_id"] == "ABCD1234" and fields["images"] == 3


async def test_a_rate_limit_is_a_logged_failure(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    fake_slack.fail_next("files.getUploadURLExternal", "ratelimited")
    assert not await share(fake_slack)
    assert [(n, f["error"]) for n, f in logged(caplog)] == [("sheet_failed", "ratelimited")]


async def test_slack_too_slow_is_a_timeout(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    fake_slack.delay("files.completeUploadExternal", 2.0)
    assert not await share(fake_slack, timeout_s=0.5)
    assert [(n, f["error"]) for n, f in logged(caplog)] == [("sheet_failed", "timeout")]


async def test_a_drawing_bug_is_logged_without_its_message(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    assert not await share(fake_slack, images=())  # no images: the drawing raises
    [(name, fields)] = logged(caplog)
    assert name == "sheet_crashed" and fields["images"] == 0
    assert fake_slack.calls_to("files.getUploadURLExternal") == []


async def test_a_cancelled_question_cancels_its_sheet(fake_slack: FakeSlack) -> None:
    fake_slack.delay("files.getUploadURLExternal", 5.0)
    task = asyncio.create_task(share(fake_slack))
    while not fake_slack.calls_to("files.getUploadURLExternal"):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_comment_goes_out_inert(fake_slack: FakeSlack) -> None:
    # A translated or operator's catalog could hold markup; the comment never pings anyone.
    assert await share(fake_slack, comment="<!channel> see [this](https://evil.example)")
    [shared] = fake_slack.uploads.shared
    assert shared.initial_comment == "&lt;!channel&gt; see this (https://evil.example)"
    assert fake_slack.live_markup() == []
