"""bot.slack.question.threads against the fake Slack: a thread read in a few calls at most."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.question.threads import MAX_READS, PAGE, read_thread
from tests.fakes.slack import FakeSlack


def thread_of(fake: FakeSlack, replies: int) -> str:
    fake.store.run_ahead(600)  # an even pace: a loaded machine's pauses would bunch replies
    [root] = fake.post_user_message(channel="C1", text="the case")
    for n in range(replies):
        fake.post_user_message(channel="C1", text=f"reply {n}", thread_ts=str(root["ts"]))
    return str(root["ts"])


@pytest.fixture
def client(fake_slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)


def texts(messages: list[dict[str, object]]) -> list[str]:
    return [str(m["text"]) for m in messages]


@pytest.mark.parametrize("replies", [0, 10, PAGE - 1, PAGE + 50])
async def test_a_thread_of_about_a_page_is_read_whole(
    fake_slack: FakeSlack, client: AsyncWebClient, replies: int
) -> None:
    root = thread_of(fake_slack, replies)
    read = await read_thread(client, channel="C1", thread_ts=root)
    assert texts(read.messages) == ["the case", *(f"reply {n}" for n in range(replies))]
    assert not read.left_out
    assert len(fake_slack.calls_to("conversations.replies")) <= 2


async def test_a_long_thread_is_its_first_message_and_its_newest_page(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = thread_of(fake_slack, 3000)
    read = await read_thread(client, channel="C1", thread_ts=root)
    said = texts(read.messages)
    assert read.left_out and said[0] == "the case" and said[-1] == "reply 2999"
    newest = [int(t.split()[1]) for t in said[1:]]
    assert newest == list(range(newest[0], 3000)) and PAGE // 2 <= len(newest) <= PAGE
    assert len(fake_slack.calls_to("conversations.replies")) <= MAX_READS


async def test_a_long_thread_revived_after_a_pause_stays_within_the_calls(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = thread_of(fake_slack, 3000)
    fake_slack.store._clock += 7 * 24 * 3600 * 10**6  # a week later
    fake_slack.post_user_message(channel="C1", text="back to this one?", thread_ts=root)
    read = await read_thread(client, channel="C1", thread_ts=root)
    said = texts(read.messages)
    assert read.left_out and said[0] == "the case" and said[-1] == "back to this one?"
    assert len(fake_slack.calls_to("conversations.replies")) <= MAX_READS


async def test_a_read_up_to_a_message_stops_there(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = thread_of(fake_slack, 3000)
    [target] = [m for m in fake_slack.thread("C1", root) if m["text"] == "reply 2500"]
    read = await read_thread(client, channel="C1", thread_ts=root, until_ts=str(target["ts"]))
    assert texts(read.messages)[-1] == "reply 2500" and read.left_out
    assert len(fake_slack.calls_to("conversations.replies")) <= MAX_READS


async def test_a_bunched_thread_still_costs_a_few_calls_and_ends_with_its_newest(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    # Replies in bursts an hour apart: the pace guessed from the whole thread is wrong
    # for its newest stretch, and the search gets only its few calls to correct it.
    fake_slack.store.run_ahead(600)
    [root] = fake_slack.post_user_message(channel="C1", text="the case")
    for burst in range(3):
        fake_slack.store.run_ahead(600 + 3600 * (burst + 1))
        for n in range(1000 * burst, 1000 * (burst + 1)):
            fake_slack.post_user_message(channel="C1", text=f"reply {n}", thread_ts=root["ts"])
    read = await read_thread(client, channel="C1", thread_ts=str(root["ts"]))
    said = texts(read.messages)
    assert read.left_out and said[0] == "the case" and said[-1] == "reply 2999"
    newest = [int(t.split()[1]) for t in said[1:]]
    assert newest == list(range(newest[0], 3000)) and 0 < len(newest) <= PAGE
    assert len(fake_slack.calls_to("conversations.replies")) <= MAX_READS
