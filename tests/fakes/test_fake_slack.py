"""The fake Slack, driven through the real slack_sdk clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.say.async_say import AsyncSay
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import slack
from tests.fakes.slack import (
    FakeSlack,
    event_callback_body,
    file_share_message,
    message_event,
    signed_request_headers,
)

CHANNEL = "C100"

# The fixture under test, as a conftest.py would import it.
fake_slack = slack.fake_slack


async def slack_error(call: Awaitable[Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


# -- Web API basics


async def test_auth_test_reports_identity_and_scopes(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    response = await client.auth_test()
    assert response["user_id"] == "UBOT"
    assert response["bot_id"] == "BBOT"
    assert response["team_id"] == "T1"
    assert response.headers["x-oauth-scopes"].split(",") == list(fake_slack.scopes)


@pytest.mark.parametrize(
    ("token", "error"),
    [(None, "not_authed"), ("xoxb-wrong", "invalid_auth"), ("xapp-test", "not_allowed_token_type")],
)
async def test_bad_tokens_are_refused(fake_slack: FakeSlack, token: str | None, error: str) -> None:
    bad = AsyncWebClient(token=token, base_url=fake_slack.api_url)
    assert (await slack_error(bad.auth_test())).response["error"] == error


async def test_every_call_is_recorded_and_unknown_methods_fail(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    error = await slack_error(client.api_call("pins.add", params={"channel": CHANNEL}))
    assert error.response["error"] == "unknown_method"
    assert fake_slack.calls == [("pins.add", {"channel": CHANNEL})]
    assert fake_slack.calls_to("pins.add") == [{"channel": CHANNEL}]


# -- messages and threads


async def test_thread_round_trip_paginates_with_the_parent_first(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    [event] = fake_slack.post_user_message(channel=CHANNEL, text="question")
    parent_ts = event["ts"]
    for i in range(19):
        await client.chat_postMessage(channel=CHANNEL, thread_ts=parent_ts, text=f"reply {i}")

    replies = await client.conversations_replies(channel=CHANNEL, ts=parent_ts, limit=8)
    pages = [page["messages"] async for page in replies]
    assert all(page[0]["ts"] == parent_ts for page in pages)  # Slack repeats the parent
    seen = pages[0] + [message for page in pages[1:] for message in page[1:]]

    assert len(fake_slack.calls_to("conversations.replies")) == 3
    assert [m["text"] for m in seen] == ["question"] + [f"reply {i}" for i in range(19)]
    assert [m["ts"] for m in seen] == sorted(m["ts"] for m in seen)
    assert "bot_id" not in seen[0]
    assert all(m["bot_id"] == "BBOT" and m["thread_ts"] == parent_ts for m in seen[1:])
    assert seen[1]["parent_user_id"] == "U1"
    assert fake_slack.message(CHANNEL, parent_ts)["reply_count"] == 19  # type: ignore[index]


async def test_replies_of_a_plain_message_and_of_an_unknown_ts(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="alone")
    replies = await client.conversations_replies(channel=CHANNEL, ts=posted["ts"])
    assert [m["text"] for m in replies["messages"]] == ["alone"]
    assert replies["has_more"] is False

    error = await slack_error(client.conversations_replies(channel=CHANNEL, ts="1.000001"))
    assert error.response["error"] == "thread_not_found"


async def test_metadata_comes_back_only_when_asked_for(client: AsyncWebClient) -> None:
    metadata = {"event_type": "answer", "event_payload": {"n": 1}}
    posted = await client.chat_postMessage(channel=CHANNEL, text="hi", metadata=metadata)
    plain = await client.conversations_replies(channel=CHANNEL, ts=posted["ts"])
    full = await client.conversations_replies(
        channel=CHANNEL, ts=posted["ts"], include_all_metadata=True
    )
    assert "metadata" not in plain["messages"][0]
    assert full["messages"][0]["metadata"] == metadata


async def test_user_files_appear_in_the_thread(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    file = fake_slack.add_file(b"png", name="x.png", mimetype="image/png", filetype="png")
    [event] = fake_slack.post_user_message(channel=CHANNEL, text="look", files=[file])
    assert event["subtype"] == "file_share"
    replies = await client.conversations_replies(channel=CHANNEL, ts=event["ts"])
    assert replies["messages"][0]["files"] == [file]


async def test_history_lists_top_level_messages_newest_first(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    first = fake_slack.post_bot_message(channel=CHANNEL, text="first")
    fake_slack.post_bot_message(channel=CHANNEL, text="in thread", thread_ts=first["ts"])
    fake_slack.post_bot_message(channel=CHANNEL, text="second")
    history = await client.conversations_history(channel=CHANNEL)
    assert [m["text"] for m in history["messages"]] == ["second", "first"]


async def test_scopes_can_be_enforced(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.add_user("U1", "ada")
    await client.users_info(user="U1")
    fake_slack.web.enforce_scopes = True
    error = await slack_error(client.users_info(user="U1"))
    assert (error.response["error"], error.response["needed"]) == ("missing_scope", "users:read")


def section(chars: int) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": "x" * chars}}


def markdown(chars: int) -> dict[str, Any]:
    return {"type": "markdown", "text": "x" * chars}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"blocks": [section(10)] * 51}, "invalid_blocks"),
        ({"blocks": [markdown(6000), markdown(6001)]}, "invalid_blocks"),
        ({"blocks": [section(3001)]}, "invalid_blocks"),
        ({"text": "x" * 40_001}, "msg_too_long"),
    ],
)
async def test_post_message_limits(
    client: AsyncWebClient, kwargs: dict[str, Any], error: str
) -> None:
    kwargs = {"text": "fallback", **kwargs}
    call = client.chat_postMessage(channel=CHANNEL, **kwargs)
    assert (await slack_error(call)).response["error"] == error


async def test_a_message_without_content(client: AsyncWebClient) -> None:
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        error = await slack_error(client.chat_postMessage(channel=CHANNEL))
    assert error.response["error"] == "no_text"


async def test_limits_at_the_edge_are_accepted(client: AsyncWebClient) -> None:
    blocks = [section(3000)] + [markdown(6000), markdown(6000)] + [section(1)] * 47
    await client.chat_postMessage(channel=CHANNEL, text="x" * 40_000, blocks=blocks)


async def test_update_and_delete_only_the_bots_messages(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="draft")
    too_long = await slack_error(
        client.chat_update(channel=CHANNEL, ts=posted["ts"], text="x" * 4001)
    )
    assert too_long.response["error"] == "msg_too_long"
    await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="final")
    assert fake_slack.message(CHANNEL, posted["ts"])["text"] == "final"  # type: ignore[index]

    [user_event] = fake_slack.post_user_message(channel=CHANNEL, text="mine")
    refused = await slack_error(client.chat_update(channel=CHANNEL, ts=user_event["ts"], text="x"))
    assert refused.response["error"] == "cant_update_message"

    await client.chat_delete(channel=CHANNEL, ts=posted["ts"])
    assert fake_slack.message(CHANNEL, posted["ts"]) is None


async def test_unknown_channels(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.unknown_channels.add("CGONE")
    error = await slack_error(client.chat_postMessage(channel="CGONE", text="hi"))
    assert error.response["error"] == "channel_not_found"


async def test_streamed_message_through_the_sdk_helper(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    [event] = fake_slack.post_user_message(channel=CHANNEL, text="question")
    # Outside DMs Slack needs the recipient (chat.startStream's documented arguments).
    refused = await slack_error(
        client.chat_startStream(channel=CHANNEL, thread_ts=event["ts"], markdown_text="x")
    )
    assert refused.response["error"] == "invalid_arguments"
    streamer = await client.chat_stream(
        channel=CHANNEL,
        thread_ts=event["ts"],
        buffer_size=4,
        recipient_user_id="U1",
        recipient_team_id=fake_slack.team_id,
    )
    for word in ["one ", "two ", "three"]:
        await streamer.append(markdown_text=word)
    footer = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "AI"}]}]
    stopped = await streamer.stop(blocks=footer)

    message = fake_slack.message(CHANNEL, stopped["ts"])
    assert message is not None
    assert message["text"] == "one two three"
    # stopStream's blocks come after the streamed markdown.
    assert message["blocks"] == [{"type": "markdown", "text": "one two three"}, *footer]
    assert message["thread_ts"] == event["ts"]
    assert not fake_slack.streams[(CHANNEL, stopped["ts"])].open
    late = await slack_error(
        client.chat_appendStream(channel=CHANNEL, ts=stopped["ts"], markdown_text="x")
    )
    assert late.response["error"] == "message_not_in_streaming_state"


async def test_status_reactions_users_and_ephemerals(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    await client.assistant_threads_setStatus(
        channel_id=CHANNEL, thread_ts="1.1", status="is thinking…", loading_messages=["a", "b"]
    )
    await client.assistant_threads_setStatus(channel_id=CHANNEL, thread_ts="1.1", status="")
    assert [c["status"] for c in fake_slack.status_calls] == ["is thinking…", ""]
    assert fake_slack.status_calls[0]["loading_messages"] == ["a", "b"]

    await client.reactions_add(channel=CHANNEL, timestamp="1.1", name="eyes")
    again = await slack_error(client.reactions_add(channel=CHANNEL, timestamp="1.1", name="eyes"))
    assert again.response["error"] == "already_reacted"
    await client.reactions_remove(channel=CHANNEL, timestamp="1.1", name="eyes")
    assert fake_slack.reactions[(CHANNEL, "1.1")] == []

    fake_slack.add_user("U1", "ada", real_name="Ada Lovelace")
    user = await client.users_info(user="U1")
    assert user["user"]["profile"]["real_name"] == "Ada Lovelace"
    missing = await slack_error(client.users_info(user="U404"))
    assert missing.response["error"] == "user_not_found"

    await client.chat_postEphemeral(channel=CHANNEL, user="U1", text="only you")
    assert fake_slack.ephemerals[0]["text"] == "only you"
    assert fake_slack.messages_in(CHANNEL) == []


async def test_faults_and_delays(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    fake_slack.fail_next("chat.postMessage", retry_after=3)
    fake_slack.fail_next("chat.postMessage", "internal_error", status=500)
    limited = await slack_error(client.chat_postMessage(channel=CHANNEL, text="a"))
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "3"
    broken = await slack_error(client.chat_postMessage(channel=CHANNEL, text="b"))
    assert (broken.response.status_code, broken.response["error"]) == (500, "internal_error")
    await client.chat_postMessage(channel=CHANNEL, text="c")

    fake_slack.delay("auth.test", 0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.auth_test()
    assert loop.time() - started >= 0.2


# -- files


async def test_download_needs_the_bot_token(
    fake_slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    file = fake_slack.add_file(
        b"\x89PNG...", name="scan 1.png", mimetype="image/png", filetype="png"
    )
    url = file["url_private_download"]
    token = {"Authorization": f"Bearer {fake_slack.bot_token}"}

    async with http.get(url, headers=token) as response:
        assert (response.status, response.content_type) == (200, "image/png")
        assert await response.read() == b"\x89PNG..."
    for headers in ({}, {"Authorization": "Bearer xoxb-other"}):
        async with http.get(url, headers=headers) as response:
            assert (response.status, response.content_type) == (200, "text/html")
            assert "<title>Slack</title>" in await response.text()
    assert [auth for _, auth in fake_slack.file_requests] == [
        token["Authorization"],
        None,
        "Bearer xoxb-other",
    ]


@pytest.mark.parametrize("cause", ["html_login", "no_files_read"])
async def test_missing_scope_gives_the_login_page(
    fake_slack: FakeSlack, http: aiohttp.ClientSession, cause: str
) -> None:
    file = fake_slack.add_file(b"x", name="a.png", mimetype="image/png", filetype="png")
    if cause == "html_login":
        fake_slack.files[file["id"]].html_login = True
    else:
        fake_slack.scopes = tuple(s for s in fake_slack.scopes if s != "files:read")
    headers = {"Authorization": f"Bearer {fake_slack.bot_token}"}
    async with http.get(file["url_private"], headers=headers) as response:
        assert (response.status, response.content_type) == (200, "text/html")


async def test_redirect_to_a_foreign_host(
    fake_slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    foreign = fake_slack.foreign_host
    file = fake_slack.add_file(
        b"x", name="a.png", mimetype="image/png", filetype="png", redirect_to=f"{foreign.url}a.png"
    )
    headers = {"Authorization": f"Bearer {fake_slack.bot_token}"}
    async with http.get(file["url_private"], headers=headers, allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith("http://localhost:")

    async with http.get(location) as response:
        assert await response.read() == foreign.body
    assert foreign.requests == [("/a.png", None)]
    assert not foreign.saw_authorization


async def test_slow_download_that_lies_about_its_size(
    fake_slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    content = bytes(range(256)) * 400
    file = fake_slack.add_file(
        content,
        name="big.dcm",
        mimetype="application/dicom",
        filetype="dcm",
        lie_about_size=1000,
        chunk_delay=0.001,
    )
    assert file["size"] == 1000
    headers = {"Authorization": f"Bearer {fake_slack.bot_token}"}
    async with http.get(file["url_private_download"], headers=headers) as response:
        assert response.content_length is None
        assert await response.read() == content
    assert fake_slack.files[file["id"]].bytes_sent == len(content)


async def test_file_stub_and_files_info(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    file = fake_slack.add_file(
        b"x", name="a.png", mimetype="image/png", filetype="png", original_w=3, original_h=2
    )
    stub = fake_slack.file_stub(file)
    assert stub == {"id": file["id"], "mode": "file_access", "file_access": "check_file_info"}
    info = await client.files_info(file=stub["id"])
    assert info["file"] == file
    missing = await slack_error(client.files_info(file="F404"))
    assert missing.response["error"] == "file_not_found"


# -- events


def test_a_channel_mention_is_delivered_twice_a_dm_once(fake_slack: FakeSlack) -> None:
    mention, message = fake_slack.post_user_message(channel=CHANNEL, text="<@UBOT> hi")
    assert (mention["type"], message["type"]) == ("app_mention", "message")
    assert mention["ts"] == message["ts"]
    assert message["channel_type"] == "channel"
    assert mention["blocks"][0]["elements"][0]["elements"][0] == {"type": "user", "user_id": "UBOT"}

    [dm] = fake_slack.post_user_message(channel="D1", text="<@UBOT> hi", channel_type="im")
    assert (dm["type"], dm["channel_type"]) == ("message", "im")
    assert len(fake_slack.messages_in(CHANNEL)) == 1


def test_builders_match_slack_shapes() -> None:
    shared = file_share_message(channel=CHANNEL, files=[{"id": "F1"}], thread_ts="1.1")
    assert shared["subtype"] == "file_share"
    assert shared["files"] == [{"id": "F1"}]
    assert shared["thread_ts"] == "1.1"
    bot = message_event(channel=CHANNEL, text="x", bot_id="B2")
    assert bot["bot_id"] == "B2"
    assert "client_msg_id" not in bot


def test_signed_request_headers_verify() -> None:
    body = event_callback_body(message_event(channel=CHANNEL, text="x"), event_id="Ev1")
    assert json.loads(body)["event_id"] == "Ev1"
    headers = signed_request_headers(body, signing_secret="s3cret")
    verifier = SignatureVerifier(signing_secret="s3cret")
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier(signing_secret="other").is_valid_request(body, headers)


async def test_socket_mode_client_receives_and_acks(fake_slack: FakeSlack) -> None:
    received: list[SocketModeRequest] = []

    async def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    web_client = AsyncWebClient(base_url=fake_slack.api_url)
    socket_client = SocketModeClient(app_token=fake_slack.app_token, web_client=web_client)
    socket_client.socket_mode_request_listeners.append(listener)  # type: ignore[arg-type]
    try:
        await socket_client.connect()
        await fake_slack.wait_connected()
        [event] = fake_slack.post_user_message(channel="D1", text="hi", channel_type="im")
        envelope_id = await fake_slack.send_event(
            event, event_id="Ev42", retry_attempt=1, retry_reason="timeout"
        )
        ack = await fake_slack.wait_acked(envelope_id)
    finally:
        await socket_client.close()

    assert ack == {"envelope_id": envelope_id}
    assert fake_slack.unacked() == []
    [request] = received
    assert (request.type, request.retry_attempt, request.retry_reason) == (
        "events_api",
        1,
        "timeout",
    )
    assert request.payload["event_id"] == "Ev42"
    assert request.payload["event"] == event
    assert request.payload["authorizations"][0]["user_id"] == "UBOT"
    assert fake_slack.calls_to("apps.connections.open") == [{}]


async def test_a_bolt_app_in_socket_mode_answers_a_mention(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)
    app = AsyncApp(client=client)
    answered = asyncio.Event()

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: AsyncSay) -> None:
        await say(text="hello", thread_ts=event["ts"])
        answered.set()

    @app.event("message")
    async def on_message() -> None:
        pass

    handler = AsyncSocketModeHandler(app, fake_slack.app_token)
    await handler.connect_async()
    try:
        events = fake_slack.post_user_message(channel=CHANNEL, text="<@UBOT> hi")
        envelope_ids = [await fake_slack.send_event(event) for event in events]
        for envelope_id in envelope_ids:
            await fake_slack.wait_acked(envelope_id)
        async with asyncio.timeout(5):
            await answered.wait()
    finally:
        await handler.close_async()

    question, answer = fake_slack.thread(CHANNEL, events[0]["ts"])
    assert (question["text"], answer["text"]) == ("<@UBOT> hi", "hello")
