"""Visible progress in the thread while the bot works, and the Stop button under it.

The thread status shows under the thread and says what is true now: a question waiting
in line shows its place as the status text alone, with no loading messages (Slack
rotates those and shows them instead of the status, so "Writing the report…" would
show while nothing is written); a question being answered says it looks at the images
only when the thread has some, and its loading messages say the same. The status is
refreshed before Slack's two-minute expiry, and changes are coalesced: at most one
status call per question every `min_interval_s`, however fast places in line move.

The Stop button sits on a progress message under the question (statuses hold no
buttons): posted at once for a question that waits in line, after `stop_after_s` for
one being answered (a quick answer needs none), and deleted when the work ends. A
refusal that means "no statuses here" (a workspace or token without the feature) turns
that message into the placeholder that carries the status text; a rate limit or a
Slack outage only skips that update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

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
STOP_AFTER_S = 3.0  # an answer still being worked on after this gets its Stop button
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
        images: bool = True,
        stop: dict[str, Any] | None = None,
        stop_after_s: float | None = None,  # None: STOP_AFTER_S
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
        self._place = place
        self._images = images
        self._stop = stop
        self._stop_after_s = (
            0.0 if place else (STOP_AFTER_S if stop_after_s is None else stop_after_s)
        )
        self._wanted = self._place_text(place)
        self._shown: str | None = None
        self._shown_at = 0.0
        self._placeholder: str | None = None
        self._use_status = True
        self._changed = asyncio.Event()
        self._updater: asyncio.Task[None] | None = None
        self._stopper: asyncio.Task[None] | None = None
        self._posting: asyncio.Future[None] | None = None

    async def __aenter__(self) -> Progress:
        # One call, never waited out when rate limited (the status client does not).
        await self._show(self._wanted)
        self._updater = asyncio.create_task(self._keep_up())
        if self._stop is not None:
            self._stopper = asyncio.create_task(self._offer_stop())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Cleared whatever happened, even while the question is being cancelled.
        await asyncio.shield(self._done())

    def place_in_line(self, place: int) -> None:
        """The place in line (0: generating): the line's and the backend's queue callback."""
        self._place = place
        self._want(self._place_text(place))

    def has_images(self, images: bool) -> None:
        """Whether the thread holds images (known once it is read): what "working" says."""
        self._images = images
        self._want(self._place_text(self._place))

    def _want(self, status: str) -> None:
        if status != self._wanted and self._updater is not None:
            self._wanted = status
            self._changed.set()

    def _place_text(self, place: int) -> str:
        if place == 0:
            return self._text("working" if self._images else "working_text")
        if place == 1:
            return self._text("next")
        if place == 2:
            return self._text("waiting_one")
        return self._text("waiting_many", ahead=place - 1)

    def _loading(self, status: str) -> list[str] | None:
        """Loading messages only while answering: a waiting status is shown as it is."""
        if not status or self._place:
            return None
        key = "loading" if self._images else "loading_text"
        return self._prompts.texts("status", key, language=self._language)

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
                    loading_messages=self._loading(status),
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
        if status and self._placeholder is None and self._posting is None:
            text = f":hourglass_flowing_sand: {status[:1].upper()}{status[1:]}"
            await self._post_progress(text, client=self._client)

    async def _offer_stop(self) -> None:
        """After a while (at once for a waiting question), post the Stop button."""
        await asyncio.sleep(self._stop_after_s)
        if self._placeholder is None and self._posting is None:
            text = self._prompts.text("stop", "working", language=self._language)
            # Never cut off mid-post: `_done` waits for it, so its ts is known and deleted.
            self._posting = asyncio.ensure_future(
                self._post_progress(text, client=self._status_client)
            )
            await asyncio.shield(self._posting)

    async def _post_progress(self, text: str, *, client: AsyncWebClient) -> None:
        message = notice_message(text, kind="progress", request_id=self._request_id)
        if self._stop is not None:
            message["blocks"] = [*message["blocks"], self._stop]
        with best_effort(log, "placeholder_failed"):
            self._placeholder = await post_once(
                client, channel=self._channel, thread_ts=self._thread_ts, message=message
            )

    async def _done(self) -> None:
        """Clear the status and delete the progress message (after the answer or an error)."""
        for task in (self._updater, self._stopper):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._updater, self._stopper, self._posting) if t is not None),
            return_exceptions=True,
        )
        self._updater = self._stopper = None
        with best_effort(log, "status_not_cleared"):
            if self._use_status and self._shown:
                await self._status_client.assistant_threads_setStatus(
                    channel_id=self._channel, thread_ts=self._thread_ts, status=""
                )
        with best_effort(log, "placeholder_not_deleted"):
            if self._placeholder is not None:
                await self._client.chat_delete(channel=self._channel, ts=self._placeholder)
