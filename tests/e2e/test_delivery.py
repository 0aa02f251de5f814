"""Exactly one answer per user message; noise is acknowledged and ignored."""

from __future__ import annotations

from tests.e2e.harness import png_bytes, running_bot, wait_until
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import (
    FakeSlack,
    channel_join_event,
    message_changed_event,
    message_deleted_event,
    message_event,
)


async def test_double_delivery_and_retries_give_one_answer(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        events = fake_slack.post_user_message(
            channel="C1", text=f"<@{fake_slack.bot_user_id}> what is this?"
        )
        assert [e["type"] for e in events] == ["app_mention", "message"]
        await h.deliver(events)
        await h.deliver(events, retry_attempt=1)  # Slack's retries of both
        await h.deliver(events[:1], retry_attempt=2)
        ts = str(events[0]["ts"])
        await h.replies(ts)  # settled: every copy has been handled
        replies = h.bot_replies(ts)
    assert len(replies) == 1
    assert len(backend.requests) == 1
    assert not fake_slack.unacked()


async def test_noise_events_are_acknowledged_and_ignored(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        root = fake_slack.post_user_message(channel="C1", text="morning all")  # no mention
        noise = [
            *root,
            message_changed_event(
                channel="C1", message={"text": "edited", "user": "U1", "ts": "1.1"}
            ),
            message_deleted_event(channel="C1", deleted_ts="1.1"),
            channel_join_event(channel="C1", user="U2"),
            message_event(
                channel="C1",
                text=f"<@{fake_slack.bot_user_id}> hi",
                bot_id="BOTHER",
                subtype="bot_message",
            ),
            message_event(channel="C1", text="from myself", user=fake_slack.bot_user_id),
            {
                "type": "reaction_added",
                "user": "U1",
                "reaction": "eyes",
                "item": {"type": "message", "channel": "C1", "ts": "1.1"},
            },
        ]
        await h.deliver(noise)
        await h.settle()
    assert backend.requests == []
    assert [c for c in fake_slack.calls if c[0] == "chat.postMessage"] == []
    assert not fake_slack.unacked()


async def test_thread_follow_ups_only_where_the_bot_answered(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        # A thread the bot never joined: replies in it are not for the bot.
        other = fake_slack.post_user_message(channel="C1", text="case discussion")
        other_ts = str(other[0]["ts"])
        await h.ask("I think it's a fracture", thread_ts=other_ts, mention=False)
        # A thread the bot answered: a follow-up needs no mention...
        root = await h.ask("what do you see?")
        await h.replies(root)
        await h.ask("is it acute?", thread_ts=root, mention=False, user="U2")
        # ...unless it is addressed to someone else.
        await h.ask("<@U3> can you check?", thread_ts=root, mention=False, user="U2")
        await h.settle()
        replies = h.bot_replies(root)
    assert h.bot_replies(other_ts) == []
    assert len(replies) == 2
    assert len(backend.requests) == 2
    speakers = [m.text for m in backend.requests[1].messages if m.role == "user"]
    assert speakers[-1].endswith("is it acute?")


async def test_deleted_question_stops_its_answer(fake_slack: FakeSlack, transport: str) -> None:
    from tests.fakes.backend import Step

    backend = FakeBackend().then(Step(hang=True))
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("long question")
        await wait_until(lambda: bool(backend.requests))
        await h.deliver([message_deleted_event(channel="C1", deleted_ts=ts)])
        await h.settle()
    assert backend.cancelled == 1
    assert h.bot_replies(ts) == []  # nobody to answer: no message at all
    statuses = [c["status"] for c in fake_slack.status_calls if c["thread_ts"] == ts]
    assert statuses[-1] == ""  # the status was cleared


async def test_mpim_mention_is_answered_once(fake_slack: FakeSlack, transport: str) -> None:
    backend = FakeBackend()
    png = fake_slack.add_file(png_bytes(), name="a.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, transport=transport) as h:
        events = fake_slack.post_user_message(
            channel="G1",
            text=f"<@{fake_slack.bot_user_id}> thoughts?",
            channel_type="mpim",
            files=[png],
        )
        await h.deliver(events)
        replies = await h.replies(str(events[0]["ts"]), channel="G1")
    assert len(replies) == 1 and len(backend.requests) == 1
