"""Who may ask where: people turned away are told privately, once, and nothing is asked."""

from __future__ import annotations

from tests.e2e.harness import asked, running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack


async def test_a_channel_outside_the_allowlist_gets_a_private_note(
    fake_slack: FakeSlack, prompts, transport: str
) -> None:
    backend = FakeBackend()
    limits = {"MEDGEMMA_ALLOWED_CHANNELS": "C9", "MEDGEMMA_ADMIN_CONTACT": "<@UADMIN>"}
    async with running_bot(fake_slack, backend, transport=transport, **limits) as h:
        ts = await h.ask("is this normal?", channel="C1")
        await h.settle()
        allowed = await h.ask("and here?", channel="C9")
        await h.replies(allowed, channel="C9")
    assert h.bot_replies(ts) == []  # nothing in the thread for everyone to see
    [note] = fake_slack.ephemerals
    assert note["user"] == "U1" and note["channel"] == "C1" and note["thread_ts"] == ts
    assert note["text"] == prompts.text("access", "channel", contact="<@UADMIN>")
    assert [asked(r.messages[-1]) for r in backend.requests] == ["and here?"]  # only C9's


async def test_a_person_outside_the_allowlist_is_told_once_per_thread(
    fake_slack: FakeSlack, prompts
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, MEDGEMMA_ALLOWED_USERS="U1") as h:
        root = await h.ask("first look?", user="U1")
        await h.replies(root)
        # U2 joins the thread the bot is in: not allowed, told once, never answered.
        await h.ask("what about this?", thread_ts=root, user="U2", mention=False)
        await h.ask("hello?", thread_ts=root, user="U2", mention=False)
        await h.settle()
        replies = h.bot_replies(root)
    assert len(replies) == 1 and len(backend.requests) == 1
    [note] = fake_slack.ephemerals
    assert note["user"] == "U2"
    contact = prompts.text("access", "contact")
    assert note["text"] == prompts.text("access", "user", contact=contact)


async def test_direct_messages_can_be_turned_off(fake_slack: FakeSlack, prompts) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, MEDGEMMA_ALLOW_DMS="false") as h:
        await h.ask("hi", channel="D1", channel_type="im")
        await h.settle()
    assert backend.requests == []
    [note] = fake_slack.ephemerals
    assert note["channel"] == "D1"
    assert note["text"].startswith(prompts.text("access", "dm", contact="")[:20])
