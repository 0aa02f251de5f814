"""Visible progress in the thread while the bot works.

The thread status ("MedGemma is looking at the images…", with rotating loading
messages) shows under the thread, tells a waiting user their place in line, and is
refreshed before Slack's two-minute expiry. Changes are coalesced: at most one status
call per question every `min_interval_s`, however fast places in line move. A refusal
that means "no statuses here" (a workspace or token without the feature) switches to a
placeholder message, deleted when the work ends; a rate limit or a Slack outage only
skips that update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import event
from bot.prompts import ENGLISH, Prompts
from bot.slack.webapi.failures import SLACK_FAILURES, best_effort, http_status, slack_code
from bot.slack.webapi.posting import post_once
from bot.slack.webapi.replies import notice_message

log = logging.getLogger(__name__)

REFRESH_S = 90.0  # Slack clears a status after two minutes without a message
MIN_INTERVAL_S = 5.0
_PASSING = frozenset({"ratelimited", "internal_error", "fatal_error", "request_timeout"})


def refuses_status(exc: SlackApiError) -> bool:
    """True when Slack will not show statuses here at all (not a passing failure)."""
    return http_status(exc) < 500 and slack_code(exc) not in _PASSING


class Progress:
    """The status of one question's thread, from entering to leaving the context."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        status_client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        prompts: Prompts,
        request_id: str,
        language: str = ENGLISH,
        refresh_s: float = REFRESH_S,
        min_interval_s: float = MIN_INTERVAL_S,
        place: int = 0,
    ) -> None:
        self._client = client
        self._status_client = status_client
        self._channel = channel
        self._thread_ts = thread_ts
        self._prompts = prompts
        self._request_id = request_id
        self._language = language
        self._refresh_s = refresh_s
        self._min_interval_s = min_interval_s
        self._wanted = self._place_text(place)
        self._shown: str | None = None
        self._shown_at = 0.0
        self._placeholder: str | None = None
        self._use_status = True
        self._changed = asyncio.Event()
        self._updater: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Progress:
        # One call, never waited out when rate limited (the status client does not).
        await self._show(self._wanted)
        self._updater = asyncio.create_task(self._keep_up())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Cleared whatever happened, even while the question is being cancelled.
        await asyncio.shield(self._done())

    def place_in_line(self, place: int) -> None:
        """The place in line (0: generating): the line's and the backend's queue callback."""
        status = self._place_text(place)
        if status != self._wanted and self._updater is not None:
            self._wanted = status
            self._changed.set()

    def _place_text(self, place: int) -> str:
        if place == 0:
            return self._text("working")
        if place == 1:
            return self._text("next")
        if place == 2:
            return self._text("waiting_one")
        return self._text("waiting_many", ahead=place - 1)

    def _text(self, key: str, **params: object) -> str:
        return self._prompts.text("status", key, language=self._language, **params)

    def streaming(self) -> None:
        """The answer is showing in the thread: stop refreshing the status."""
        if self._updater is not None:
            self._updater.cancel()
            self._updater = None

    async def _keep_up(self) -> None:
        """Apply the latest wanted status, no more often than allowed; refresh it."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._refresh_s):
                    await self._changed.wait()
            self._changed.clear()
            wait = self._shown_at + self._min_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._use_status or self._placeholder is None:
                await self._show(self._wanted)

    async def _show(self, status: str) -> None:
        if self._use_status:
            try:
                await self._status_client.assistant_threads_setStatus(
                    channel_id=self._channel,
                    thread_ts=self._thread_ts,
                    status=status,
                    loading_messages=self._prompts.loading(self._language) if status else None,
                )
                self._shown, self._shown_at = status, time.monotonic()
                return
            except SlackApiError as exc:
                if not refuses_status(exc):
                    event(log, "status_skipped", level=logging.WARNING, error=slack_code(exc))
                    return
                event(log, "status_unavailable", level=logging.WARNING, error=slack_code(exc))
                self._use_status = False
            except SLACK_FAILURES:
                return
        if status and self._placeholder is None:
            await self._post_placeholder(status)

    async def _post_placeholder(self, status: str) -> None:
        text = f":hourglass_flowing_sand: {status[:1].upper()}{status[1:]}"
        message = notice_message(text, kind="progress", request_id=self._request_id)
        with best_effort(log, "placeholder_failed"):
            self._placeholder = await post_once(
                self._client, channel=self._channel, thread_ts=self._thread_ts, message=message
            )

    async def _done(self) -> None:
        """Clear the status or delete the placeholder (after the answer or an error)."""
        updater, self._updater = self._updater, None
        if updater is not None:
            updater.cancel()
            await asyncio.gather(updater, return_exceptions=True)
        with best_effort(log, "status_not_cleared"):
            if self._use_status and self._shown:
                await self._status_client.assistant_threads_setStatus(
                    channel_id=self._channel, thread_ts=self._thread_ts, status=""
                )
            elif self._placeholder is not None:
                await self._client.chat_delete(channel=self._channel, ts=self._placeholder)
