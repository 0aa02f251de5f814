"""The fake's external uploads, driven through slack_sdk's files_upload_v2 and raw calls."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import FakeSlack

CHANNEL = "C100"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


async def slack_error(call: Awaitable[Any]) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


async def test_an_upload_appears_in_the_thread_as_a_bot_message_with_the_file(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = fake_slack.post_bot_message(channel=CHANNEL, text="question")
    response = await client.files_upload_v2(
        file=PNG,
        filename="sheet.png",
        title="What the model saw",
        alt_txt="five slices",
        initial_comment="As sent.",
        channel=CHANNEL,
        thread_ts=root["ts"],
    )
    [shared] = fake_slack.uploads.shared
    assert (shared.content, shared.channel, shared.thread_ts) == (PNG, CHANNEL, root["ts"])
    assert response["file"]["id"] == shared.file["id"]
    [parent, message] = fake_slack.thread(CHANNEL, root["ts"])
    assert message["bot_id"] == fake_slack.bot_id and message["user"] == fake_slack.bot_user_id
    assert message["text"] == "As sent." and message["thread_ts"] == root["ts"]
    [file] = message["files"]
    assert (file["title"], file["mimetype"], file["size"]) == (
        "What the model saw",
        "image/png",
        108,
    )
    assert file["alt_txt"] == "five slices" and file["user"] == fake_slack.bot_user_id
    assert parent["reply_count"] == 1
    # The file is hosted like any other: files.info knows it, the bot token downloads it.
    info = await client.files_info(file=file["id"])
    assert info["file"]["name"] == "sheet.png"
    [(_, authorization)] = fake_slack.uploads.requests
    assert authorization is None  # slack_sdk sends no token to the upload URL


async def test_the_upload_url_answers_ok_with_the_length(
    client: AsyncWebClient, http: aiohttp.ClientSession
) -> None:
    step = await client.files_getUploadURLExternal(filename="a.png", length=len(PNG))
    async with http.post(step["upload_url"], data=PNG) as response:
        assert (response.status, await response.text()) == (200, f"OK - {len(PNG)}")
    async with http.post(step["upload_url"], data=PNG) as again:
        assert again.status == 404  # spent
    async with http.post(step["upload_url"] + "x", data=PNG) as unknown:
        assert unknown.status == 404


async def test_a_multipart_upload_keeps_the_file_part(
    fake_slack: FakeSlack, client: AsyncWebClient, http: aiohttp.ClientSession
) -> None:
    step = await client.files_getUploadURLExternal(filename="a.png", length=len(PNG))
    form = aiohttp.FormData()
    form.add_field("filename", PNG, filename="a.png", content_type="image/png")
    async with http.post(step["upload_url"], data=form) as response:
        assert response.status == 200
    await client.files_completeUploadExternal(files=[{"id": step["file_id"]}])
    assert fake_slack.uploads.shared[0].content == PNG


async def test_without_files_write_both_methods_are_missing_scope(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.scopes = tuple(s for s in fake_slack.scopes if s != "files:write")
    assert not fake_slack.web.enforce_scopes  # checked for uploads all the same
    assert await slack_error(client.files_upload_v2(file=PNG, filename="a.png")) == (
        "missing_scope"
    )
    call = client.files_completeUploadExternal(files=[{"id": "F1"}], channel_id=CHANNEL)
    assert await slack_error(call) == "missing_scope"
    assert fake_slack.uploads.shared == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"filename": "a.png", "length": 0}, "missing_argument"),
        ({"filename": "a.png", "length": "many"}, "invalid_arguments"),
        ({"filename": "a.png"}, "invalid_arguments"),
        ({"length": 10}, "invalid_arguments"),
        ({"filename": "a.png", "length": 10, "alt_txt": "x" * 1001}, "alt_txt_too_large"),
    ],
)
async def test_get_upload_url_arguments(
    client: AsyncWebClient, params: dict[str, Any], error: str
) -> None:
    assert await slack_error(client.api_call("files.getUploadURLExternal", params=params)) == error


async def uploaded(client: AsyncWebClient, http: aiohttp.ClientSession) -> str:
    """A file id whose bytes are at Slack, not yet completed."""
    step = await client.files_getUploadURLExternal(filename="a.png", length=len(PNG))
    async with http.post(step["upload_url"], data=PNG) as response:
        assert response.status == 200
    return str(step["file_id"])


async def test_complete_upload_errors(
    fake_slack: FakeSlack, client: AsyncWebClient, http: aiohttp.ClientSession
) -> None:
    complete = client.files_completeUploadExternal
    assert await slack_error(client.api_call("files.completeUploadExternal")) == (
        "invalid_arguments"
    )
    assert await slack_error(complete(files=[{"title": "no id"}])) == "invalid_arguments"
    assert await slack_error(complete(files=[{"id": "F404"}])) == "file_not_found"
    # Asked for a URL but never sent the bytes: nothing to complete.
    step = await client.files_getUploadURLExternal(filename="a.png", length=len(PNG))
    assert await slack_error(complete(files=[{"id": step["file_id"]}])) == "file_not_found"
    file_id = await uploaded(client, http)
    fake_slack.unknown_channels.add("C404")
    assert await slack_error(complete(files=[{"id": file_id}], channel_id="C404")) == (
        "invalid_channel"
    )
    assert await slack_error(complete(files=[{"id": file_id}], thread_ts="1.2")) == (
        "invalid_arguments"
    )
    await complete(files=[{"id": file_id}], channel_id=CHANNEL)
    # "This method can only be called once."
    assert await slack_error(complete(files=[{"id": file_id}], channel_id=CHANNEL)) == (
        "file_not_found"
    )
    assert len(fake_slack.uploads.shared) == 1


async def test_completed_without_a_channel_the_file_stays_private(
    fake_slack: FakeSlack, client: AsyncWebClient, http: aiohttp.ClientSession
) -> None:
    file_id = await uploaded(client, http)
    await client.files_completeUploadExternal(files=[{"id": file_id, "title": "t"}])
    [shared] = fake_slack.uploads.shared
    assert shared.channel is None and shared.message_ts is None
    assert fake_slack.messages_in(CHANNEL) == []


async def test_a_failing_upload_url_stops_files_upload_v2(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.uploads.fail_next_upload(500)
    with pytest.raises(SlackRequestError):
        await client.files_upload_v2(file=PNG, filename="a.png", channel=CHANNEL)
    assert fake_slack.calls_to("files.completeUploadExternal") == []
    assert fake_slack.uploads.shared == []


async def test_a_reply_ts_lands_in_the_parents_thread(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = fake_slack.post_bot_message(channel=CHANNEL, text="question")
    reply = fake_slack.post_bot_message(channel=CHANNEL, text="answer", thread_ts=root["ts"])
    await client.files_upload_v2(file=PNG, filename="a.png", channel=CHANNEL, thread_ts=reply["ts"])
    thread = fake_slack.thread(CHANNEL, root["ts"])
    assert [m["text"] for m in thread] == ["question", "answer", ""]
    assert thread[-1]["thread_ts"] == root["ts"]


def test_upload_methods_are_tier_4(fake_slack: FakeSlack) -> None:
    rates = fake_slack.web.rates
    assert rates.limit_of("files.getUploadURLExternal") == 100
    assert rates.limit_of("files.completeUploadExternal") == 100
