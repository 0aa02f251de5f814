"""Slack's failures in one place: what a call can raise, the word for it, calls allowed to fail.

A Web API call fails in three ways: Slack answers `ok: false` (SlackApiError, with an
error code such as `ratelimited` or `not_in_channel`), the HTTP layer fails (an
aiohttp.ClientError; an upload's PUT refused is a SlackRequestError), or nothing comes
in time (TimeoutError). Callers catch `SLACK_FAILURES`, name a failure with
`failure_code` (Slack's code, else the HTTP status, else the exception's type: always a
fixed word, never text Slack or a user wrote), and wrap calls whose failure changes
nothing for anyone in `best_effort`, which logs it and goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.logs import event

SLACK_FAILURES: tuple[type[Exception], ...] = (
    SlackApiError,
    SlackRequestError,
    aiohttp.ClientError,
    TimeoutError,
)
# Slack's codes for failures after which the call may still have been carried out.
UNCLEAR_CODES = frozenset({"internal_error", "fatal_error", "request_timeout"})


def slack_code(exc: BaseException) -> str:
    """Slack's error code of a refused call; "" for anything else."""
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return str(exc.response.get("error") or "")
    return ""


def http_status(exc: BaseException) -> int:
    """The HTTP status of a refused call (0 when there was no answer)."""
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return int(exc.response.status_code)
    return 0


def failure_code(exc: BaseException) -> str:
    """One fixed word for a failure: Slack's code, `http_<status>`, or what went wrong."""
    if code := slack_code(exc):
        return code
    if status := http_status(exc):
        return f"http_{status}"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, SlackRequestError):  # only uploads call a URL outside the Web API
        return "upload_refused"
    return type(exc).__name__


def unclear(exc: BaseException) -> bool:
    """Whether the call may have been carried out although it failed (retry with care)."""
    if isinstance(exc, aiohttp.ClientError | TimeoutError):
        return True
    return http_status(exc) >= 500 or slack_code(exc) in UNCLEAR_CODES


@contextmanager
def best_effort(
    log: logging.Logger, name: str, *, level: int = logging.WARNING, **fields: Any
) -> Iterator[None]:
    """Run Slack calls whose failure is only logged (as `name`, with its code) and passed."""
    try:
        yield
    except SLACK_FAILURES as exc:
        event(log, name, level=level, error=failure_code(exc), **fields)
