"""Answers streamed into the thread as they are generated (chat.startStream and friends).

Every path still ends in exactly one answer or one notice: a stream that cannot start
falls back to a whole post, a stream that may have lost text is replaced by one, and a
question stopped midway ends its stream with one last line and the disclaimer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from bot.errors import BackendUnavailable
from bot.slack.question import streaming
from tests.e2e.harness import Harness, findings, running_bot, start_bot, wait_until
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack, message_deleted_event

WORDS = [f"word{n} " for n in range(40)]
SAID = "".join(WORDS).strip()
CT_SMALL = Path(get_testdata_file("CT_small.dcm")).read_bytes()  # names its patient


@pytest.fixture(autouse=True)
def quick_flushes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "FLUSH_S", 0.05)


def slow(chunks: list[str] = WORDS, **step: Any) -> Step:
    return Step(chunks=chunks, **{"chunk_delay_s": 0.02, **step})


def streamed(h: Harness) -> dict[str, Any]:
    [stream] = h.fake.streams.values()
    return {"open": stream.open, "ts": stream.ts}


async def test_an_answer_streams_then_ends_with_disclaimer_and_buttons(
    fake_slack: FakeSlack, prompts, transport: str
) -> None:
    backend = FakeBackend().then(slow())
    async with running_bot(fake_slack, backend, transport=transport, MEDGEMMA_STREAMING="on") as h:
        ts = await h.ask("what do you see?")
        [reply] = await h.replies(ts)
    [start] = fake_slack.calls_to("chat.startStream")
    assert start["thread_ts"] == ts
    assert start["recipient_user_id"] == "U1" and start["recipient_team_id"] == fake_slack.team_id
    assert SAID.startswith(start["markdown_text"].strip()) and start["markdown_text"].strip()
    assert fake_slack.calls_to("chat.appendStream")  # it grew while the model spoke
    [stop] = fake_slack.calls_to("chat.stopStream")
    assert not fake_slack.calls_to("chat.postMessage")  # the stream is the answer
    assert reply["text"] == f"{SAID}\n\n{prompts.disclaimer}"
    assert [b.get("block_id") for b in reply["blocks"][1:]] == ["feedback"]
    assert reply["metadata"]["event_type"] == "medgemma_answer"
    assert stop["metadata"]["event_payload"]["parts"] == 1
    assert not streamed(h)["open"]
    statuses = [c["status"] for c in fake_slack.status_calls if c["thread_ts"] == ts]
    assert statuses[0] and statuses[-1] == ""


async def test_a_follow_up_reads_a_streamed_answer_without_its_disclaimer(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend().then(slow())
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="on") as h:
        root = await h.ask("what do you see?")
        await h.replies(root)
        await h.ask("and now?", thread_ts=root, mention=False)
        await h.replies(root, count=2)
    earlier = [m for m in backend.requests[1].messages if m.role == "assistant"]
    assert [m.text for m in earlier] == [SAID]


async def test_notes_follow_a_streamed_answer_as_blocks(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(slow())
    dcm = fake_slack.add_file(CT_SMALL, name="ct.dcm", mimetype="application/dicom", filetype="dcm")
    env = {"MEDGEMMA_STREAMING": "on", "MEDGEMMA_CONTACT_SHEET": "off"}
    async with running_bot(fake_slack, backend, **env) as h:
        ts = await h.ask("what is this?", files=[dcm])
        [reply] = await h.replies(ts)
    assert fake_slack.calls_to("chat.startStream")
    ids = [b.get("block_id") for b in reply["blocks"][1:]]
    assert ids[-1] == "feedback" and ids[:-1] and all(i.startswith("note-") for i in ids[:-1])


async def test_streaming_off_posts_answers_whole(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(slow())
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="off") as h:
        ts = await h.ask("what do you see?")
        [reply] = await h.replies(ts)
    assert not fake_slack.calls_to("chat.startStream")
    assert findings(reply) == SAID


async def test_a_workspace_that_refuses_streams_gets_whole_answers_and_is_not_asked_again(
    fake_slack: FakeSlack, prompts
) -> None:
    backend = FakeBackend().then(slow()).then(slow())
    fake_slack.fail_next("chat.startStream", error="not_allowed_token_type")
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="on") as h:
        first = await h.ask("one?")
        [a] = await h.replies(first)
        second = await h.ask("two?")
        [b] = await h.replies(second)
    assert len(fake_slack.calls_to("chat.startStream")) == 1
    assert findings(a) == findings(b) == SAID
    assert a["text"].endswith(prompts.disclaimer)


async def test_over_the_stream_budget_answers_are_posted_whole(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(slow()).then(slow())
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="on") as h:
        h.slack.deps.stream_budget.limits["pair"] = 1  # one stream a minute
        first = await h.ask("one?")
        await h.replies(first)
        second = await h.ask("two?")
        [whole] = await h.replies(second)
    assert len(fake_slack.calls_to("chat.startStream")) == 1
    assert findings(whole) == SAID


async def test_a_long_answer_streams_its_first_part_and_posts_the_rest(
    fake_slack: FakeSlack, prompts
) -> None:
    long_words = [f"finding{n:05d} " for n in range(2_000)]  # about 26,000 characters
    backend = FakeBackend().then(slow(long_words, chunk_delay_s=0.0005))
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="on") as h:
        ts = await h.ask("describe everything")
        replies = await h.replies(ts, count=2)
    assert len(replies) >= 3
    first, *later = replies
    continued = prompts.text("stream", "continued")
    assert first["text"].endswith(f"{continued}\n\n{prompts.disclaimer}")
    payloads = [m["metadata"]["event_payload"] for m in replies]
    assert [p["part"] for p in payloads] == list(range(1, len(replies) + 1))
    assert {p["parts"] for p in payloads} == {len(replies)}
    assert all(m["text"].endswith(prompts.disclaimer) for m in replies)
    assert [b.get("block_id") for b in later[-1]["blocks"]][-1] == "feedback"
    shown = first["text"][: -len(f"\n\n{continued}\n\n{prompts.disclaimer}")].split()
    shown += [w for m in later for w in findings(m).split()]
    assert shown == "".join(long_words).split()  # every word once, in order


async def test_a_failure_midway_ends_the_stream_with_one_line(
    fake_slack: FakeSlack, prompts
) -> None:
    error = BackendUnavailable("gone")
    backend = FakeBackend().then(slow(error=error, error_after=30))
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="on") as h:
        ts = await h.ask("what do you see?")
        await wait_until(lambda: bool(fake_slack.calls_to("chat.startStream")))
        await h.settle()
        [reply] = h.bot_replies(ts)
    request_id = reply["metadata"]["event_payload"]["request_id"]
    line = prompts.text("stream", "failed", error_id=request_id)
    assert reply["text"].endswith(f"{line}\n\n{prompts.disclaimer}")
    assert reply["metadata"]["event_type"] == "medgemma_notice"
    assert not fake_slack.calls_to("chat.postMessage")  # no second message


async def test_a_deleted_question_ends_its_stream(fake_slack: FakeSlack, prompts) -> None:
    backend = FakeBackend().then(slow(hang_after=30))
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="on") as h:
        ts = await h.ask("what do you see?")
        await wait_until(lambda: bool(fake_slack.calls_to("chat.startStream")))
        await h.deliver([message_deleted_event(channel="C1", deleted_ts=ts)])
        await h.settle()
        [reply] = h.bot_replies(ts)
    deleted = prompts.text("stream", "deleted")
    assert reply["text"].endswith(f"{deleted}\n\n{prompts.disclaimer}")
    assert backend.cancelled == 1 and not streamed(h)["open"]
    assert not fake_slack.calls_to("chat.postMessage")


async def test_shutdown_ends_a_stream_with_please_ask_again(fake_slack: FakeSlack, prompts) -> None:
    backend = FakeBackend().then(slow(hang_after=30))
    h = await start_bot(fake_slack, backend, MEDGEMMA_STREAMING="on")
    ts = await h.ask("what do you see?")
    await wait_until(lambda: bool(fake_slack.calls_to("chat.startStream")))
    await h.runner.stop(drain_s=0.2)
    [reply] = h.bot_replies(ts)
    assert prompts.text("stream", "restarting") in reply["text"]
    assert reply["text"].endswith(prompts.disclaimer)
    assert not streamed(h)["open"]


async def test_an_append_that_may_have_landed_twice_is_replaced_by_a_whole_answer(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend().then(slow())
    # A gateway error after Slack appended: the text may or may not be there.
    fake_slack.fail_next("chat.appendStream", "internal_error", status=500, after_effect=True)
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="on") as h:
        ts = await h.ask("what do you see?")
        [reply] = await h.replies(ts)
        await h.settle()
    assert fake_slack.calls_to("chat.delete")  # the doubtful stream is gone
    assert findings(reply) == SAID and reply["metadata"]["event_type"] == "medgemma_answer"
    assert h.bot_replies(ts) == [reply]


async def test_a_rate_limited_append_keeps_its_text(fake_slack: FakeSlack, prompts) -> None:
    backend = FakeBackend().then(slow())
    fake_slack.fail_next("chat.appendStream", "ratelimited", times=2)
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="on") as h:
        ts = await h.ask("what do you see?")
        [reply] = await h.replies(ts)
    assert fake_slack.calls_to("chat.startStream") and not fake_slack.calls_to("chat.delete")
    assert reply["text"] == f"{SAID}\n\n{prompts.disclaimer}"


async def test_a_direct_message_is_answered_by_a_stream_in_its_thread(
    fake_slack: FakeSlack, prompts, transport: str
) -> None:
    backend = FakeBackend().then(slow())
    env = {"MEDGEMMA_STREAMING": "on", "MEDGEMMA_DM_WAIT_S": "0"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        ts = await h.ask("what do you see?", channel="D1", channel_type="im")
        [reply] = await h.replies(ts, channel="D1")
    [start] = fake_slack.calls_to("chat.startStream")
    assert start["channel"] == "D1" and start["thread_ts"] == ts
    assert fake_slack.calls_to("chat.stopStream")
    assert not fake_slack.calls_to("chat.postMessage")
    assert reply["text"] == f"{SAID}\n\n{prompts.disclaimer}"


async def test_the_first_words_start_the_stream_without_waiting_a_flush(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Appends wait FLUSH_S between calls; the first call waits only for a few words.
    monkeypatch.setattr(streaming, "FLUSH_S", 30.0)
    backend = FakeBackend().then(slow())
    async with running_bot(fake_slack, backend, MEDGEMMA_STREAMING="on") as h:
        ts = await h.ask("what do you see?")
        await h.replies(ts)
    [start] = fake_slack.calls_to("chat.startStream")
    assert len(start["markdown_text"]) >= streaming.MIN_FLUSH_CHARS
    assert len(start["markdown_text"]) < len(SAID) / 2
    assert not fake_slack.calls_to("chat.appendStream")
    [stop] = fake_slack.calls_to("chat.stopStream")
    assert (start["markdown_text"] + stop["markdown_text"]).startswith(SAID)
