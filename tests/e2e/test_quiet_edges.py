"""Quiet edges (issue 18): text logs that cannot be forged, thread reads that stay bounded."""

from __future__ import annotations

import logging

import pytest

from bot.logs import TextFormatter
from bot.prompts import Prompts
from tests.e2e.harness import running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack

FORGED = "C1\n2026-01-01T00:00:00.000Z error   admin_login user=UADMIN\r\x1b[2J"


async def test_a_text_log_record_is_one_line_whatever_an_event_holds(
    fake_slack: FakeSlack, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    async with running_bot(fake_slack, FakeBackend(), transport=transport, LOG_FORMAT="text") as h:
        events = fake_slack.post_user_message(channel=FORGED, text="hello there")
        await h.deliver(events)
        await h.settle()
    lines = [TextFormatter().format(record) for record in caplog.records]
    [routed] = [line for line in lines if "admin_login" in line]
    assert "\n" not in routed and "\r" not in routed and "\x1b" not in routed
    assert "\\n2026-01-01T00:00:00.000Z error" in routed  # still there to read, escaped


async def test_a_mention_in_a_long_thread_reads_a_recent_window(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        # A busy case discussion the bot was not part of, then someone asks it.
        [root] = fake_slack.post_user_message(channel="C1", text="the case: a chest film")
        for n in range(3000):
            fake_slack.post_user_message(
                channel="C1", text=f"reply {n}", user="U2", thread_ts=str(root["ts"])
            )
        await h.ask("so what is it?", thread_ts=str(root["ts"]))
        [answer] = await h.replies(str(root["ts"]))
    reads = fake_slack.calls_to("conversations.replies")
    assert len(reads) <= 4  # was 16: Tier 3 is about 50 a minute for the whole workspace
    said = [m.text for m in backend.requests[0].messages]
    assert any("the case" in text for text in said)  # the thread's first message
    assert any("reply 2999" in text for text in said)  # and its newest
    notes = [b["elements"][0]["text"] for b in answer["blocks"] if b["block_id"].startswith("note")]
    assert any("long thread" in note for note in notes)
