"""Visible progress in the thread while the bot works.

The thread status ("MedGemma is looking at the images…", with rotating loading
messages) shows under the thread, tells a waiting user their place in line, and is
refreshed before Slack's two-minute expiry. Where Slack refuses a status, a placeholder
message is posted instead and deleted when the work ends, whatever the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import event
from bot.prompts import Prompts
from bot.slack.replies import notice_message

log = logging.getLogger(__name__)

REFRESH_S = 90.0  # Slack clears a status after two minutes without a message


class Progress:
    """The status of one question's thread, from start to done()."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        prompts: Prompts,
        refresh_s: float = REFRESH_S,
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._prompts = prompts
        self._refresh_s = refresh_s
        self._status = prompts.text("status", "working")
        self._placeholder: str | None = None
        self._use_status = True
        self._refresher: asyncio.Task[None] | None = None
        self._updates: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Progress:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # Cleared whatever happened, even while the question is being cancelled.
        await asyncio.shield(self.done())

    async def start(self) -> None:
        """Show that the bot is working."""
        await self._show(self._status)
        self._refresher = asyncio.create_task(self._refresh())

    async def _show(self, status: str) -> None:
        if self._use_status:
            try:
                await self._client.assistant_threads_setStatus(
                    channel_id=self._channel,
                    thread_ts=self._thread_ts,
                    status=status,
                    loading_messages=self._prompts.loading() if status else None,
                )
                return
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response else None
                event(log, "status_unavailable", level=logging.WARNING, error=error)
                self._use_status = False
        if status and self._placeholder is None:
            text = f":hourglass_flowing_sand: {status[:1].upper()}{status[1:]}"
            response = await self._client.chat_postMessage(
                channel=self._channel,
                thread_ts=self._thread_ts,
                **notice_message(text, kind="progress"),
            )
            self._placeholder = str(response.get("ts"))

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            if self._use_status:
                with contextlib.suppress(SlackApiError):
                    await self._show(self._status)

    def place_in_line(self, place: int) -> None:
        """The backend's queue callback: show the place in line (0: generating)."""
        if place == 0:
            status = self._prompts.text("status", "working")
        elif place == 1:
            status = self._prompts.text("status", "next")
        else:
            ahead = place - 1
            noun = "question" if ahead == 1 else "questions"
            status = self._prompts.text("status", "waiting", ahead=f"{ahead} {noun}")
        if status == self._status or not self._use_status:
            return
        self._status = status
        task = asyncio.create_task(self._update(status))
        self._updates.add(task)
        task.add_done_callback(self._updates.discard)

    async def _update(self, status: str) -> None:
        with contextlib.suppress(SlackApiError):
            await self._show(status)

    async def done(self) -> None:
        """Clear the status or delete the placeholder (after the answer or an error)."""
        tasks = [t for t in (self._refresher, *self._updates) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(SlackApiError):
            if self._use_status:
                await self._client.assistant_threads_setStatus(
                    channel_id=self._channel, thread_ts=self._thread_ts, status=""
                )
            elif self._placeholder is not None:
                await self._client.chat_delete(channel=self._channel, ts=self._placeholder)
