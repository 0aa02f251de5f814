"""Feedback on an answer: thumbs up / down, thanked in private, recorded with ids only."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from bot.logs import JsonFormatter
from bot.prompts import Prompts
from bot.service.metrics import Metrics
from tests.e2e.harness import Harness, png_bytes, running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack

QUESTION = "Is there a pneumothorax in Jane Roe's film?"


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def logged(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    return [dict(getattr(r, "fields", {})) for r in caplog.records if r.msg == name]


async def answered(h: Harness) -> tuple[str, dict[str, Any]]:
    """A question with an image, and its answer (with the feedback buttons)."""
    png = h.fake.add_file(png_bytes(), name="cxr.png", mimetype="image/png", filetype="png")
    ts = await h.ask(QUESTION, files=[png])
    [answer] = await h.replies(ts)
    return ts, answer


async def rate(h: Harness, answer: dict[str, Any], side: str, *, user: str = "U2") -> None:
    click = h.fake.interactive.click(
        channel=h.channel,
        ts=answer["ts"],
        action_id="feedback",
        user=user,
        side=side,  # type: ignore[arg-type]
    )
    assert await h.interact(click) == {}  # acknowledged, nothing asked of Slack
    await h.settle()


async def test_thumbs_up_is_recorded_counted_and_thanked_in_private(
    fake_slack: FakeSlack, prompts: Prompts, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    async with running_bot(fake_slack, FakeBackend(), transport=transport) as h:
        ts, answer = await answered(h)
        await rate(h, answer, "positive")
        await rate(h, answer, "positive")  # clicked again: counted once
        metrics = h.slack.deps.metrics
    request_id = answer["metadata"]["event_payload"]["request_id"]
    [thanks] = fake_slack.ephemerals
    assert (thanks["channel"], thanks["user"], thanks["thread_ts"]) == ("C1", "U2", ts)
    assert thanks["text"] == prompts.text("feedback", "thanks")
    assert sample(metrics, "medgemma_feedback_total", rating="up") == 1
    assert sample(metrics, "medgemma_feedback_total", rating="down") == 0
    assert logged(caplog, "feedback") == [
        {"request_id": request_id, "channel": "C1", "rating": "up"}
    ]
    assert len(h.bot_replies(ts)) == 1  # nothing public: the thanks is ephemeral


async def test_thumbs_down_offers_a_reason_recorded_as_a_code(
    fake_slack: FakeSlack, prompts: Prompts, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    async with running_bot(fake_slack, FakeBackend(), transport=transport) as h:
        ts, answer = await answered(h)
        await rate(h, answer, "negative")
        [sorry] = fake_slack.ephemerals
        say_why = fake_slack.interactive.click(
            channel="C1", ts=sorry["ts"], action_id="feedback_reason", user="U2"
        )
        assert say_why["container"]["is_ephemeral"] and "message" not in say_why
        await h.interact(say_why)
        await h.settle()
        [modal] = fake_slack.views.modals("U2")
        submission = fake_slack.interactive.submit(modal["id"], values={"reason": "missed_finding"})
        assert await h.interact(submission) == {}  # an empty answer closes the modal
        await h.settle()
        metrics = h.slack.deps.metrics
    request_id = answer["metadata"]["event_payload"]["request_id"]
    assert sorry["text"] == prompts.text("feedback", "sorry") and sorry["thread_ts"] == ts
    assert modal["callback_id"] == "feedback_reason"
    assert json.loads(modal["private_metadata"]) == {"r": request_id, "c": "C1", "t": ts}
    codes = [o["value"] for o in modal["blocks"][0]["element"]["options"]]
    assert codes == list(prompts.messages["reasons"])
    thanked = fake_slack.ephemerals[-1]
    assert thanked["text"] == prompts.text("feedback", "reason_thanks")
    assert (thanked["user"], thanked["thread_ts"]) == ("U2", ts)
    assert sample(metrics, "medgemma_feedback_total", rating="down") == 1
    assert sample(metrics, "medgemma_feedback_reasons_total", reason="missed_finding") == 1
    assert logged(caplog, "feedback_reason") == [
        {"request_id": request_id, "channel": "C1", "reason": "missed_finding"}
    ]
    rendered = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for text in ("Jane", "Roe", "pneumothorax", prompts.text("reasons", "missed_finding")):
        assert text not in rendered


async def test_a_click_is_acknowledged_before_slack_is_answered(
    fake_slack: FakeSlack, transport: str
) -> None:
    async with running_bot(fake_slack, FakeBackend(), transport=transport) as h:
        _, answer = await answered(h)
        fake_slack.delay("chat.postEphemeral", 2.0)  # a slow Slack
        click = fake_slack.interactive.click(
            channel="C1", ts=answer["ts"], action_id="feedback", user="U2", side="positive"
        )
        started = time.monotonic()
        await h.interact(click)
        acknowledged_s = time.monotonic() - started
        await h.settle()
    assert acknowledged_s < 1.0  # Slack shows an error after 3 seconds
    assert len(fake_slack.ephemerals) == 1  # and the thanks still came


async def test_a_reason_that_is_not_one_of_the_codes_is_not_recorded(
    fake_slack: FakeSlack, transport: str
) -> None:
    async with running_bot(fake_slack, FakeBackend(), transport=transport) as h:
        _, answer = await answered(h)
        await rate(h, answer, "negative")
        [sorry] = fake_slack.ephemerals
        await h.interact(
            fake_slack.interactive.click(
                channel="C1", ts=sorry["ts"], action_id="feedback_reason", user="U2"
            )
        )
        await h.settle()
        [modal] = fake_slack.views.modals("U2")
        forged = fake_slack.interactive.submit(modal["id"], values={"reason": "missed_finding"})
        # A code-shaped value that is not one of the [reasons] (a stale or forged modal).
        forged["view"]["state"]["values"]["reason"]["reason"]["selected_option"]["value"] = (
            "made_up_reason"
        )
        await h.interact(forged)
        await h.settle()
        metrics = h.slack.deps.metrics
    assert len(fake_slack.ephemerals) == 1  # no thanks for it
    samples = [s for m in metrics.registry.collect() for s in m.samples]
    assert not [s for s in samples if s.name == "medgemma_feedback_reasons_total"]
