"""Slack's failures named by one fixed word; best-effort calls logged and passed."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.webapi.failures import best_effort, failure_code, slack_code, unclear


def refused(code: str | None, status: int = 200) -> SlackApiError:
    """A SlackApiError as slack_sdk raises it for `{"ok": false, "error": code}`."""
    data = {"ok": False, **({"error": code} if code else {})}
    response = AsyncSlackResponse(
        client=None,  # type: ignore[arg-type]
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data=data,
        headers={},
        status_code=status,
    )
    return SlackApiError("refused", response)


@pytest.mark.parametrize(
    ("exc", "code", "is_unclear"),
    [
        (refused("not_in_channel"), "not_in_channel", False),
        (refused("internal_error", 500), "internal_error", True),
        (refused(None, 503), "http_503", True),
        (aiohttp.ServerDisconnectedError(), "ServerDisconnectedError", True),
        (TimeoutError(), "timeout", True),
        (SlackRequestError("upload URL answered 503"), "upload_refused", False),
    ],
)
def test_each_failure_has_one_fixed_word(exc: Exception, code: str, is_unclear: bool) -> None:
    assert failure_code(exc) == code
    assert unclear(exc) is is_unclear


def test_only_slack_refusals_have_a_slack_code() -> None:
    assert slack_code(refused("ratelimited", 429)) == "ratelimited"
    assert slack_code(TimeoutError()) == ""


async def test_best_effort_logs_the_code_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("bot.tests.failures")
    caplog.set_level(logging.WARNING, logger=log.name)
    with best_effort(log, "status_not_cleared", channel="C1"):
        raise refused("channel_not_found")
    [record] = caplog.records
    assert record.msg == "status_not_cleared"
    assert record.fields == {"error": "channel_not_found", "channel": "C1"}  # type: ignore[attr-defined]
    with pytest.raises(ValueError), best_effort(log, "never"):
        raise ValueError("a bug is not a Slack failure")
