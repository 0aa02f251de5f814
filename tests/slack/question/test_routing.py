"""Tests for bot.slack.question.routing: which events get an answer, and for which message."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.question.routing import Route, mentioned_users, route, strip_mention

BOT = "UBOT"
HUMAN = "UHUMAN"
OTHER = "UOTHER"
TS = "1700000000.000100"
PARENT = "1699999999.000001"


def msg(**overrides: Any) -> dict[str, Any]:
    """A plain top-level channel message from a human; overrides change or add keys."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": "C1",
        "channel_type": "channel",
        "user": HUMAN,
        "text": "what is this?",
        "ts": TS,
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not None}


def reply(**overrides: Any) -> dict[str, Any]:
    """A thread reply."""
    return msg(thread_ts=PARENT, **overrides)


# (case id, event type, event, expected action)
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    # app_mention is the one event for channel mentions.
    ("app_mention", "app_mention", msg(type="app_mention", text=f"<@{BOT}> hi"), "answer"),
    (
        "app_mention in a thread",
        "app_mention",
        reply(type="app_mention", text=f"<@{BOT}> and?"),
        "answer",
    ),
    ("app_mention by the bot", "app_mention", msg(type="app_mention", user=BOT), "ignore"),
    # Its message twin is ignored, except in group DMs.
    ("channel mention twin", "message", msg(text=f"<@{BOT}> hi"), "ignore"),
    ("thread mention twin", "message", reply(text=f"<@{BOT}> hi"), "ignore"),
    ("mention with a display name", "message", msg(text=f"<@{BOT}|medgemma> hi"), "ignore"),
    ("group DM mention", "message", msg(channel_type="mpim", text=f"<@{BOT}> hi"), "answer"),
    ("group DM without mention", "message", msg(channel_type="mpim"), "ignore"),
    ("group DM thread reply", "message", reply(channel_type="mpim"), "followup"),
    # A G id is a private channel or a group DM: only the message twin says which.
    (
        "app_mention with a G id",
        "app_mention",
        msg(type="app_mention", channel="G1", channel_type=None, text=f"<@{BOT}> hi"),
        "ignore",
    ),
    (
        "G group DM mention",
        "message",
        msg(channel="G1", channel_type="mpim", text=f"<@{BOT}> hi"),
        "answer",
    ),
    (
        "G private channel mention",
        "message",
        msg(channel="G1", channel_type="group", text=f"<@{BOT}> hi"),
        "answer",
    ),
    # Direct messages.
    ("DM", "message", msg(channel_type="im"), "answer"),
    ("DM with a mention", "message", msg(channel_type="im", text=f"<@{BOT}> hi"), "answer"),
    (
        "DM mentioning someone else",
        "message",
        msg(channel_type="im", text=f"<@{OTHER}> hi"),
        "answer",
    ),
    ("DM thread reply", "message", reply(channel_type="im"), "answer"),
    # Threads.
    ("thread reply", "message", reply(), "followup"),
    (
        "thread reply to other people",
        "message",
        reply(text=f"<@{OTHER}> what do you think?"),
        "ignore",
    ),
    ("thread reply to a W user", "message", reply(text="<@W123ABC> thoughts?"), "ignore"),
    ("thread root itself", "message", msg(thread_ts=TS), "ignore"),
    ("top-level channel message", "message", msg(), "ignore"),
    ("top-level mentioning others", "message", msg(text=f"<@{OTHER}> hi"), "ignore"),
    # Answerable subtypes.
    ("file share in a DM", "message", msg(channel_type="im", subtype="file_share"), "answer"),
    ("file share in a thread", "message", reply(subtype="file_share"), "followup"),
    ("thread broadcast", "message", reply(subtype="thread_broadcast"), "followup"),
    # Everything else is acknowledged only.
    ("edited", "message", msg(channel_type="im", subtype="message_changed"), "ignore"),
    ("joined", "message", msg(channel_type="im", subtype="channel_join"), "ignore"),
    ("bot message subtype", "message", msg(channel_type="im", subtype="bot_message"), "ignore"),
    ("replied notice", "message", reply(subtype="message_replied"), "ignore"),
    ("topic", "message", msg(channel_type="im", subtype="channel_topic"), "ignore"),
    ("me message", "message", msg(channel_type="im", subtype="me_message"), "ignore"),
    # Bots and system messages.
    ("bot_id", "message", msg(channel_type="im", bot_id="B1"), "ignore"),
    ("bot_profile", "message", msg(channel_type="im", bot_profile={"id": "B1"}), "ignore"),
    ("our own message", "message", msg(channel_type="im", user=BOT), "ignore"),
    ("our own thread reply", "message", reply(user=BOT), "ignore"),
    ("no user", "message", msg(channel_type="im", user=None), "ignore"),
    ("another bot's mention", "app_mention", msg(type="app_mention", bot_id="B2"), "ignore"),
]


@pytest.mark.parametrize(
    ("name", "event_type", "event", "action"), CASES, ids=[c[0] for c in CASES]
)
def test_route_action(name: str, event_type: str, event: dict[str, Any], action: str) -> None:
    assert route(event, event_type=event_type, bot_user_id=BOT).action == action


@pytest.mark.parametrize(
    ("name", "event_type", "event", "action"),
    [c for c in CASES if c[3] in ("answer", "followup")],
    ids=[c[0] for c in CASES if c[3] in ("answer", "followup")],
)
def test_answered_routes_name_the_message_and_thread(
    name: str, event_type: str, event: dict[str, Any], action: str
) -> None:
    result = route(event, event_type=event_type, bot_user_id=BOT)
    assert result.channel == event["channel"]
    assert result.ts == event["ts"]
    assert result.thread_ts == event.get("thread_ts", event["ts"])
    assert result.user == event["user"]


@pytest.mark.parametrize(
    "event",
    [
        msg(subtype="message_deleted", deleted_ts="111.222", user=None),
        msg(subtype="message_deleted", previous_message={"ts": "111.222"}, user=None),
        msg(subtype="message_deleted", deleted_ts="111.222", previous_message={"ts": "111.222"}),
        msg(subtype="message_deleted", channel_type="im", deleted_ts="111.222", bot_id="B1"),
    ],
    ids=["deleted_ts", "previous_message", "both", "even from a bot"],
)
def test_deletion_cancels_the_deleted_message(event: dict[str, Any]) -> None:
    assert route(event, event_type="message", bot_user_id=BOT) == Route(
        "cancel", "deleted", channel="C1", ts="111.222"
    )


# (case id, text, expected)
STRIP_CASES: list[tuple[str, str, str]] = [
    ("leading", f"<@{BOT}> what is this?", "what is this?"),
    ("trailing", f"what is this? <@{BOT}>", "what is this?"),
    ("middle", f"is <@{BOT}> sure?", "is sure?"),
    ("with a display name", f"<@{BOT}|medgemma> hi", "hi"),
    ("twice", f"<@{BOT}> <@{BOT}> hi", "hi"),
    ("other people kept", f"<@{BOT}> ask <@{OTHER}>", f"ask <@{OTHER}>"),
    ("line breaks kept", f"<@{BOT}>\nline one\nline two", "line one\nline two"),
    ("only the mention", f"<@{BOT}>", ""),
    ("no mention", "  plain  ", "plain"),
    ("empty", "", ""),
    ("a longer id is not the bot", f"<@{BOT}X> hi", f"<@{BOT}X> hi"),
]


@pytest.mark.parametrize(("name", "text", "expected"), STRIP_CASES, ids=[c[0] for c in STRIP_CASES])
def test_strip_mention(name: str, text: str, expected: str) -> None:
    assert strip_mention(text, BOT) == expected


# (case id, text, expected ids)
MENTION_CASES: list[tuple[str, str | None, set[str]]] = [
    ("none", "no one here", set()),
    ("empty", "", set()),
    ("missing text", None, set()),
    ("one", f"<@{BOT}> hi", {BOT}),
    ("several, repeated", f"<@{BOT}> <@{OTHER}> <@{BOT}>", {BOT, OTHER}),
    ("display name", f"<@{OTHER}|someone>", {OTHER}),
    ("enterprise user", "<@W0123ABC>", {"W0123ABC"}),
    ("channel link is not a user", "<#C123|general> <!here>", set()),
    ("lower case is not an id", "<@ubot>", set()),
]


@pytest.mark.parametrize(
    ("name", "text", "expected"), MENTION_CASES, ids=[c[0] for c in MENTION_CASES]
)
def test_mentioned_users(name: str, text: str | None, expected: set[str]) -> None:
    assert mentioned_users(text) == expected  # type: ignore[arg-type]


def test_strip_mention_keeps_the_rest_of_the_spacing() -> None:
    text = "<@UBOT> compare:\n  - left  lung\n  - right lung"
    assert strip_mention(text, "UBOT") == "compare:\n  - left  lung\n  - right lung"
    assert strip_mention("is <@UBOT> sure?", "UBOT") == "is sure?"
