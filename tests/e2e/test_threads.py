"""Threads as Slack has them: the bot only where it was asked, at the cost of few calls."""

from __future__ import annotations

from bot.errors import BackendError
from tests.e2e.harness import asked, findings, png_bytes, running_bot, wait_until
from tests.fakes.backend import SAFETY_LINE, FakeBackend, Step, digest
from tests.fakes.slack import FakeSlack


async def test_human_threads_cost_no_call_and_never_get_a_message(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend().then(Step(hang=True))
    # Full (one question at a time, and it hangs), and every thread read would fail:
    # neither may show in a thread of people talking among themselves.
    env = {"MEDGEMMA_MAX_PENDING": "1"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        busy = await h.ask("hold on")
        await wait_until(lambda: bool(backend.requests))
        fake_slack.fail_next("conversations.replies", error="internal_error", status=500, times=9)
        root = fake_slack.post_user_message(channel="C1", text="case discussion")[0]
        for n in range(5):
            await h.ask(f"I think it's a fracture ({n})", thread_ts=root["ts"], mention=False)
        await h.deliver([])  # acknowledged and handled; nothing was started
        assert fake_slack.calls_to("conversations.replies") == []
        assert h.bot_replies(str(root["ts"])) == []
        assert h.bot_replies(busy) == []  # the hanging one is still answering
        h.slack.deps.jobs.cancel(("C1", busy))
        await h.settle()


async def test_a_follow_up_uses_the_event_when_the_read_lags(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        root = await h.ask("what do you see?")
        await h.replies(root)
        events = fake_slack.post_user_message(
            channel="C1", text="and is the heart enlarged?", thread_ts=root
        )
        fake_slack.web.unread.add(str(events[0]["ts"]))  # the read does not have it yet
        await h.deliver(events)
        _, second = await h.replies(root, count=2)
    assert asked(backend.requests[1].messages[-1]) == "and is the heart enlarged?"
    assert findings(second) == (
        f"Findings for {digest('and is the heart enlarged?')}: 0 image(s) reviewed."
    )


async def test_after_an_error_notice_a_plain_reply_is_answered(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend().then(Step(error=BackendError("boom")))
    async with running_bot(fake_slack, backend, transport=transport) as h:
        root = await h.ask("first try")
        [notice] = await h.replies(root)
        assert notice["metadata"]["event_type"] == "medgemma_notice"
        await h.ask("please try again", thread_ts=root, mention=False)
        _, answer = await h.replies(root, count=2)
    assert answer["metadata"]["event_type"] == "medgemma_answer"
    # The unanswered first try and the retry are one turn of the person's.
    assert backend.requests[1].messages[-1].text == f"first try\n\n{SAFETY_LINE}please try again"


async def test_a_reply_before_the_first_answer_is_answered_after_it(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend().then(Step(delay_s=0.5))
    async with running_bot(fake_slack, backend, transport=transport) as h:
        root = await h.ask("first question")
        await wait_until(lambda: bool(backend.requests))
        await h.ask("also the apex?", thread_ts=root, mention=False)
        first, _ = await h.replies(root, count=2)
    assert findings(first).startswith(f"Findings for {digest('first question')}")
    # Answered in order: the follow-up's request holds the first answer.
    roles = [m.role for m in backend.requests[1].messages]
    assert roles == ["user", "assistant", "user"]
    assert backend.requests[1].messages[1].text == findings(first)


async def test_escaped_text_reaches_the_model_as_written(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    backend.answer = lambda request: "Nodule <5 mm & stable >2 years, see https://x.org/a?b=1&c"
    png = fake_slack.add_file(png_bytes(), name="a.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, transport=transport) as h:
        root = await h.ask("size <1 cm & shape?", files=[png])
        [first] = await h.replies(root)
        await h.ask("R&D: is it >3 cm now?", thread_ts=root, mention=False)
        await h.replies(root, count=2)
    stored = fake_slack.thread("C1", root)
    assert "&lt;1 cm &amp; shape?" in stored[0]["text"]  # as Slack keeps it
    assert "&lt;5 mm &amp;" in first["text"]  # the bot escaped its own text
    follow_up = backend.requests[1].messages
    assert follow_up[0].text == "size <1 cm & shape?"
    assert follow_up[1].text == "Nodule <5 mm & stable >2 years, see https://x.org/a?b=1&c"
    assert asked(follow_up[2]) == "R&D: is it >3 cm now?"
