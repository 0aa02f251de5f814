"""Slack failing as Slack fails: rate limits, 5xx, lost answers, refused blocks, statuses."""

from __future__ import annotations

import pytest

from bot.prompts import Prompts
from tests.e2e.harness import Harness, findings, png_bytes, running_bot
from tests.fakes.backend import FakeBackend, digest
from tests.fakes.slack import FakeSlack

# Every Web API method the bot calls while answering (auth.test and
# apps.connections.open run at start-up, before a question exists).
ANSWERING_METHODS = (
    "conversations.replies",
    "conversations.history",
    "users.info",
    "files.info",
    "assistant.threads.setStatus",
    "chat.postMessage",
)


async def _thread_with_everything(h: Harness) -> tuple[str, str]:
    """A thread whose follow-up needs every method: two speakers, a Connect stub."""
    fake = h.fake
    fake.add_user("U1", "ada")
    fake.add_user("U2", "grace")
    root = await h.ask("what do you see?")
    await h.replies(root)
    file = fake.add_file(png_bytes(), name="x.png", mimetype="image/png", filetype="png")
    follow = await h.ask("and here?", thread_ts=root, user="U2", files=[fake.file_stub(file)])
    return root, follow


@pytest.mark.parametrize(("error", "status"), [("ratelimited", 429), ("internal_error", 500)])
async def test_every_method_failing_twice_still_gives_one_answer_each(
    fake_slack: FakeSlack, error: str, status: int
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        await h.ask("warm-up")  # the bot's own start-up calls are done
        for method in ANSWERING_METHODS:
            fake_slack.fail_next(method, error=error, status=status, retry_after=1, times=2)
        root, _ = await _thread_with_everything(h)
        dm = await h.ask("", channel="D1", channel_type="im", files=[_png(fake_slack)])
        await h.replies(root, count=2)
        await h.replies(dm, channel="D1")
        await h.settle()
        replies = h.bot_replies(root)
        dm_replies = h.bot_replies(dm, channel="D1")
    kinds = [r["metadata"]["event_type"] for r in [*replies, *dm_replies]]
    assert kinds == ["medgemma_answer"] * 3
    assert findings(replies[1]).endswith("1 image(s) reviewed.")


def _png(fake: FakeSlack) -> dict[str, object]:
    return fake.add_file(png_bytes(), name="y.png", mimetype="image/png", filetype="png")


async def test_a_post_that_failed_after_slack_made_it_is_not_made_again(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        fake_slack.fail_next(
            "chat.postMessage", error="internal_error", status=500, after_effect=True
        )
        ts = await h.ask("only once, please")
        await h.replies(ts)
        await h.settle()
        replies = h.bot_replies(ts)
    assert len(replies) == 1
    assert findings(replies[0]).startswith(f"Findings for {digest('only once, please')}")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # found, not posted twice


async def test_refused_blocks_fall_back_to_text(fake_slack: FakeSlack, prompts: Prompts) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        fake_slack.fail_next("chat.postMessage", error="msg_blocks_too_long")
        root = await h.ask("a long one")
        [reply] = await h.replies(root)
        await h.ask("and?", thread_ts=root, mention=False)
        await h.replies(root, count=2)
    said = f"Findings for {digest('a long one')}: 0 image(s) reviewed."
    assert reply["text"] == f"{said}\n\n{prompts.disclaimer}"
    assert [b["type"] for b in reply["blocks"]] == ["context", "context_actions"]  # kept
    assert backend.requests[1].messages[1].text == said  # read back without the disclaimer


async def test_a_rate_limited_status_does_not_switch_to_placeholders(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        fake_slack.fail_next("assistant.threads.setStatus", error="ratelimited", times=9)
        ts = await h.ask("hello")
        await h.replies(ts)
    posted = fake_slack.calls_to("chat.postMessage")
    assert len(posted) == 1  # the answer; no ":hourglass" placeholder
    assert fake_slack.calls_to("chat.delete") == []
