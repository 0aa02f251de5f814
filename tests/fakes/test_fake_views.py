"""The fake's views and interactivity, driven through the real slack_sdk and Bolt."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import slack
from tests.fakes.slack import FakeSlack, interactive_body, signed_request_headers

fake_slack = slack.fake_slack
CHANNEL = "C100"


def modal(**overrides: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "ask",
        "title": {"type": "plain_text", "text": "Ask"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "q",
                "label": {"type": "plain_text", "text": "Question"},
                "element": {"type": "plain_text_input", "action_id": "q"},
            }
        ],
    }
    view.update(overrides)
    return {k: v for k, v in view.items() if v is not None}


def home(blocks: int = 1) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}
    return {"type": "home", "blocks": [section] * blocks}


async def error_of(call: Any) -> tuple[str, list[str]]:
    with pytest.raises(SlackApiError) as info:
        await call
    response = info.value.response
    return str(response["error"]), list(
        (response.get("response_metadata") or {}).get("messages") or []
    )


async def test_views_open_takes_a_fresh_trigger_once(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = fake_slack.views.issue_trigger("U1")
    opened = await client.views_open(trigger_id=trigger, view=modal())
    view = opened["view"]
    assert view["id"].startswith("V") and view["state"] == {"values": {}}
    assert fake_slack.views.owner(view["id"]) == "U1"
    assert [v["id"] for v in fake_slack.views.modals("U1")] == [view["id"]]
    assert (await error_of(client.views_open(trigger_id=trigger, view=modal())))[0] == (
        "exchanged_trigger_id"
    )
    old = fake_slack.views.issue_trigger("U1", age_s=3.01)  # "expires in 3 seconds"
    assert (await error_of(client.views_open(trigger_id=old, view=modal())))[0] == (
        "expired_trigger_id"
    )
    made_up = "12345.98765.abcd2358fdea"
    assert (await error_of(client.views_open(trigger_id=made_up, view=modal())))[0] == (
        "invalid_trigger_id"
    )
    assert (await error_of(client.views_open(trigger_id="", view=modal())))[0] == (
        "invalid_arguments"
    )


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        (modal(title={"type": "plain_text", "text": "x" * 25}), "/view/title/text"),
        (modal(title=None), "/view"),
        (modal(submit=None), "/view"),  # an input block needs a submit button
        (modal(close={"type": "mrkdwn", "text": "Close"}), "/view/close"),
        (modal(private_metadata="x" * 3001), "/view/private_metadata"),
        (modal(callback_id="x" * 256), "/view/callback_id"),
        (modal(blocks=home(101)["blocks"]), "/view/blocks"),
        (modal(type="home"), "/view/type"),
        (
            modal(blocks=[{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]),
            "/view/blocks/0/text/text",
        ),
    ],
)
async def test_views_open_checks_the_view_as_slack_documents(
    fake_slack: FakeSlack, client: AsyncWebClient, view: dict[str, Any], pointer: str
) -> None:
    trigger = fake_slack.views.issue_trigger("U1")
    error, messages = await error_of(client.views_open(trigger_id=trigger, view=view))
    assert error == "invalid_arguments"
    assert any(m.startswith("[ERROR] ") and f"[json-pointer:{pointer}]" in m for m in messages)
    assert fake_slack.views.modals() == []
    # The trigger was not spent on an invalid view.
    assert (await client.views_open(trigger_id=trigger, view=modal()))["ok"]


async def test_a_modal_without_inputs_needs_no_submit(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    view = modal(submit=None, close=None, blocks=home()["blocks"])
    assert (await client.views_open(trigger_id=fake_slack.views.issue_trigger("U1"), view=view))[
        "ok"
    ]


async def test_views_publish_needs_a_user_and_a_home_view(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    assert (await error_of(client.views_publish(user_id="", view=home())))[0] == (
        "invalid_arguments"
    )
    assert (await error_of(client.views_publish(user_id="U1", view=modal())))[0] == (
        "invalid_arguments"
    )
    error, messages = await error_of(client.views_publish(user_id="U1", view=home(101)))
    assert error == "invalid_arguments" and "no more than 100 items" in messages[0]
    first = (await client.views_publish(user_id="U1", view=home()))["view"]
    second = (await client.views_publish(user_id="U1", view=home(2)))["view"]
    assert first["id"] == second["id"]  # one Home view per user, replaced
    assert len((fake_slack.views.home_view("U1") or {})["blocks"]) == 2
    stale = await error_of(client.views_publish(user_id="U1", view=home(), hash=first["hash"]))
    assert stale[0] == "hash_conflict"
    fake_slack.views.home_tab_enabled = False
    assert (await error_of(client.views_publish(user_id="U2", view=home())))[0] == "not_enabled"


async def test_views_update_finds_the_view_and_guards_its_hash(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = fake_slack.views.issue_trigger("U1")
    view = (await client.views_open(trigger_id=trigger, view=modal(external_id="ext-1")))["view"]
    again = modal(callback_id="again", external_id="ext-1")
    updated = await client.views_update(view_id=view["id"], view=again)
    assert updated["view"]["callback_id"] == "again" and updated["view"]["id"] == view["id"]
    by_external = await client.views_update(external_id="ext-1", view=modal(external_id="ext-1"))
    assert by_external["ok"]
    assert (await error_of(client.views_update(view_id="VNOPE", view=modal())))[0] == "not_found"
    assert (await error_of(client.views_update(view_id=view["id"], view=modal(), hash="1.x")))[
        0
    ] == "hash_conflict"
    # slack_sdk refuses this itself; Slack would too.
    nameless = client.api_call("views.update", json={"view": modal()})
    assert (await error_of(nameless))[0] == "invalid_arguments"


async def test_views_methods_are_tier_4(fake_slack: FakeSlack, client: AsyncWebClient) -> None:
    for method in ("views.open", "views.publish", "views.update", "views.push"):
        assert fake_slack.web.rates.limit_of(method) == 100


async def test_a_click_on_feedback_buttons_is_shaped_like_slacks(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    buttons = {
        "type": "feedback_buttons",
        "action_id": "feedback",
        "positive_button": {"text": {"type": "plain_text", "text": "Good"}, "value": "up:1"},
        "negative_button": {"text": {"type": "plain_text", "text": "Bad"}, "value": "down:1"},
    }
    block = {"type": "context_actions", "block_id": "fb", "elements": [buttons]}
    posted = await client.chat_postMessage(
        channel=CHANNEL, text="answer", blocks=[block], thread_ts="1700000000.000100"
    )
    payload = fake_slack.interactive.click(
        channel=CHANNEL, ts=posted["ts"], action_id="feedback", user="U2", side="negative"
    )
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U2"
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": CHANNEL,
        "is_ephemeral": False,
        "thread_ts": "1700000000.000100",
    }
    [action] = payload["actions"]
    assert (action["type"], action["action_id"], action["block_id"], action["value"]) == (
        "feedback_buttons",
        "feedback",
        "fb",
        "down:1",
    )
    assert payload["message"]["ts"] == posted["ts"] and payload["trigger_id"]
    with pytest.raises(ValueError, match="which feedback button"):
        fake_slack.interactive.click(channel=CHANNEL, ts=posted["ts"], action_id="feedback")


async def test_ephemeral_clicks_and_submissions(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    button = {"type": "button", "action_id": "why", "text": {"type": "plain_text", "text": "Why"}}
    actions = {"type": "actions", "block_id": "a", "elements": [{**button, "value": "R1"}]}
    sent = await client.chat_postEphemeral(channel=CHANNEL, user="U2", text="t", blocks=[actions])
    click = fake_slack.interactive.click(
        channel=CHANNEL, ts=sent["message_ts"], action_id="why", user="U2"
    )
    assert click["container"]["is_ephemeral"] and "message" not in click
    with pytest.raises(ValueError, match="recipient"):
        fake_slack.interactive.click(channel=CHANNEL, ts=sent["message_ts"], action_id="why")
    opened = await client.views_open(trigger_id=click["trigger_id"], view=modal())
    with pytest.raises(ValueError, match="required"):
        fake_slack.interactive.submit(opened["view"]["id"], values={})
    submitted = fake_slack.interactive.submit(opened["view"]["id"], values={"q": "why?"})
    assert submitted["type"] == "view_submission" and submitted["user"]["id"] == "U2"
    assert submitted["view"]["state"]["values"] == {
        "q": {"q": {"type": "plain_text_input", "value": "why?"}}
    }


async def test_interactions_reach_bolt_in_socket_mode(fake_slack: FakeSlack) -> None:
    app = AsyncApp(client=AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url))
    seen: list[dict[str, Any]] = []

    @app.shortcut("ask")
    async def on_shortcut(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        seen.append(body)

    handler = AsyncSocketModeHandler(app, fake_slack.app_token)
    await handler.connect_async()
    try:
        [message] = fake_slack.post_user_message(channel=CHANNEL, text="an image", user="U2")
        payload = fake_slack.interactive.message_action(
            channel=CHANNEL, ts=message["ts"], callback_id="ask"
        )
        envelope_id = await fake_slack.send_interactive(payload)
        async with asyncio.timeout(5):
            ack = await fake_slack.wait_acked(envelope_id)
    finally:
        await handler.close_async()
    assert fake_slack.socket.sent[-1]["type"] == "interactive"
    assert ack == {"envelope_id": envelope_id}
    [body] = seen
    assert (body["type"], body["message_ts"], body["channel"]["id"]) == (
        "message_action",
        message["ts"],
        CHANNEL,
    )
    assert body["message"]["text"] == "an image"


def test_interactions_over_http_are_signed_form_posts(fake_slack: FakeSlack) -> None:
    event = fake_slack.interactive.home_opened(user="U1")
    assert (event["type"], event["tab"], event["channel"]) == ("app_home_opened", "home", "D1")
    payload = {"type": "block_actions", "actions": []}
    body = interactive_body(payload)
    assert json.loads(parse_qs(body.decode())["payload"][0]) == payload
    headers = signed_request_headers(
        body, signing_secret="s3cret", content_type="application/x-www-form-urlencoded"
    )
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(signing_secret="s3cret").is_valid_request(body, headers)
