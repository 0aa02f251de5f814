"""Thread statuses: coalesced, refreshed, and given up only when Slack refuses them."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from bot.prompts import Prompts
from bot.slack.question.progress import Progress
from tests.fakes.slack import FakeSlack


def progress(fake: FakeSlack, prompts: Prompts, **kwargs: float) -> Progress:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    return Progress(
        client=client,
        status_client=client,
        channel="C1",
        thread_ts="1.0",
        prompts=prompts,
        request_id="R1",
        **kwargs,
    )


async def test_fast_moving_places_cost_few_status_calls(
    fake_slack: FakeSlack, prompts: Prompts
) -> None:
    async with progress(fake_slack, prompts, min_interval_s=0.4) as shown:
        for place in range(60, 0, -1):  # sixty completions ahead of us, one every 10 ms
            shown.place_in_line(place)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
    statuses = [c["status"] for c in fake_slack.status_calls]
    # The first status, at most one per 0.4 s over 0.6 s of changes, the clearing.
    assert 3 <= len(statuses) <= 5, statuses
    assert statuses[-2] == prompts.text("status", "next")  # the latest place won
    assert statuses[-1] == ""


async def test_the_status_is_refreshed_before_slack_clears_it(
    fake_slack: FakeSlack, prompts: Prompts
) -> None:
    async with progress(fake_slack, prompts, refresh_s=0.2, min_interval_s=0.0):
        await asyncio.sleep(0.7)
    working = prompts.text("status", "working")
    assert [c["status"] for c in fake_slack.status_calls].count(working) >= 3


async def test_a_refusal_switches_to_a_placeholder_once(
    fake_slack: FakeSlack, prompts: Prompts
) -> None:
    fake_slack.fail_next("assistant.threads.setStatus", error="not_allowed_token_type")
    async with progress(fake_slack, prompts, min_interval_s=0.0) as shown:
        shown.place_in_line(3)
        shown.place_in_line(0)
        await asyncio.sleep(0.1)
    posts = fake_slack.calls_to("chat.postMessage")
    assert len(posts) == 1 and posts[0]["text"].startswith(":hourglass")
    assert len(fake_slack.calls_to("chat.delete")) == 1
