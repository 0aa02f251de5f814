"""A running bot wired to the fake Slack over Socket Mode, for end-to-end scenarios."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from PIL import Image

from bot.backends.base import Backend, ChatMessage
from bot.prompts import Prompts, load_prompts
from bot.settings import DEFAULT_PROMPTS, Settings, load_settings
from bot.slack.wiring.app import SlackApp, build_app
from bot.slack.wiring.runner import Runner
from tests.fakes.backend import SAFETY_LINE
from tests.fakes.slack import (
    FakeSlack,
    event_callback_body,
    interactive_body,
    new_event_id,
    signed_request_headers,
)

WAIT_S = 15.0


async def wait_until(condition: Callable[[], bool], *, timeout_s: float = WAIT_S) -> None:
    """Poll the fakes' state until `condition` holds (they keep no events to wait on)."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polling in-memory fake state
            await asyncio.sleep(0.01)


def png_bytes(
    size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (120, 30, 200)
) -> bytes:
    """A small real PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def findings(reply: dict[str, Any]) -> str:
    """An answer's findings as posted: the text of its Markdown blocks but the disclaimer's
    (a whole answer's disclaimer is its own Markdown paragraph, after the findings)."""
    blocks = reply.get("blocks") or []
    return "".join(
        b["text"]
        for b in blocks
        if b.get("type") == "markdown" and b.get("block_id") != "disclaimer"
    )


def asked(message: ChatMessage) -> str:
    """A user turn's question under the default model (MedGemma 1.5): the bot's safety
    line comes first, since Google's profile sends no system prompt, then what was asked."""
    assert message.text.startswith(SAFETY_LINE), message.text
    return message.text.removeprefix(SAFETY_LINE)


def is_sheet(message: dict[str, Any]) -> bool:
    """The bot's contact sheet of what the model saw: an upload, neither answer nor notice."""
    return bool(message.get("files")) and "metadata" not in message


def settings_for(fake: FakeSlack, **env: str) -> Settings:
    """Settings as the bot reads them from the environment, pointed at the fake Slack."""
    values = {
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_APP_TOKEN": fake.app_token,
        "SLACK_API_URL": fake.api_url,
        "MEDGEMMA_BACKEND": "transformers",
        "SLACK_DOWNLOAD_TIMEOUT_S": "5",
        "MEDGEMMA_TIMEOUT_S": "30",
        "MEDGEMMA_STATE_FILE": "off",
        "SLACK_SOCKET_PING_S": "0.5",
        "MEDGEMMA_DM_WAIT_S": "0.5",
        "LOG_FORMAT": "json",
        # Answers are posted whole unless a test streams them (tests/e2e/test_streaming.py):
        # the fake backend answers at once, and whole posts are what most tests inspect.
        "MEDGEMMA_STREAMING": "off",
    }
    values.update(env)
    return load_settings(values)


@dataclass
class Harness:
    """The fake workspace, the running bot and its backend."""

    fake: FakeSlack
    slack: SlackApp
    runner: Runner
    backend: Backend
    channel: str = "C1"
    events_url: str = ""  # HTTP mode: where Slack posts events; "" for Socket Mode

    async def deliver(
        self, events: list[dict[str, Any]], *, retry_attempt: int = 0, **routing: str
    ) -> None:
        """Send events as Slack does (Socket Mode or HTTP); wait for each acknowledgement.

        `routing` may name another `team_id` or `api_app_id` than the workspace's.
        """
        for event in events:
            if self.events_url:
                await self._post(event, retry_attempt=retry_attempt, **routing)
            else:
                envelope = await self.fake.send_event(event, retry_attempt=retry_attempt, **routing)
                await self.fake.wait_acked(envelope)

    async def _post(self, event: dict[str, Any], *, retry_attempt: int, **routing: str) -> None:
        """One signed Events API request; Slack counts a 200 as the acknowledgement."""
        workspace = self.fake.workspace
        routing = {"team_id": workspace.team_id, "api_app_id": workspace.app_id, **routing}
        body = event_callback_body(event, event_id=new_event_id(), **routing)
        headers = signed_request_headers(
            body,
            signing_secret=self.fake.signing_secret,
            retry_num=retry_attempt or None,
        )
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.events_url, data=body, headers=headers) as response,
        ):
            assert response.status == 200, response.status

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send an interaction payload as Slack does; Slack's view of the acknowledgement.

        Socket Mode: an `interactive` envelope, answered by the envelope's ack (its
        `payload`, if any). HTTP: a signed form post to the same URL as events, answered
        by a 200 (its JSON body, if any).
        """
        if not self.events_url:
            envelope = await self.fake.send_interactive(payload)
            return dict((await self.fake.wait_acked(envelope)).get("payload") or {})
        body = interactive_body(payload)
        headers = signed_request_headers(
            body,
            signing_secret=self.fake.signing_secret,
            content_type="application/x-www-form-urlencoded",
        )
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.events_url, data=body, headers=headers) as response,
        ):
            assert response.status == 200, response.status
            text = await response.text()
        return dict(json.loads(text)) if text.strip() else {}

    async def ask(
        self,
        text: str,
        *,
        files: list[dict[str, Any]] | None = None,
        channel: str | None = None,
        channel_type: str = "channel",
        thread_ts: str | None = None,
        user: str = "U1",
        mention: bool = True,
    ) -> str:
        """Post a user message (mentioning the bot in channels) and deliver its events."""
        prefix = f"<@{self.fake.bot_user_id}> " if mention and channel_type != "im" else ""
        events = self.fake.post_user_message(
            channel=channel or self.channel,
            text=prefix + text,
            user=user,
            channel_type=channel_type,
            thread_ts=thread_ts,
            files=files,  # type: ignore[arg-type]
        )
        await self.deliver(events)
        return str(events[0]["ts"])

    def bot_replies(self, thread_ts: str, channel: str | None = None) -> list[dict[str, Any]]:
        """The bot's messages in a thread, oldest first."""
        thread = self.fake.thread(channel or self.channel, thread_ts)
        return [m for m in thread if m.get("bot_id") == self.fake.bot_id]

    async def settle(self) -> None:
        """Wait until no question and no notice is being worked on.

        Listeners start all their work before Slack's event is acknowledged, and
        `deliver` waits for the acknowledgements: once settled, nothing more will come
        of the events delivered so far.
        """
        jobs = self.slack.deps.jobs
        await wait_until(lambda: jobs.idle)

    async def replies(
        self, thread_ts: str, *, count: int = 1, channel: str | None = None
    ) -> list[dict[str, Any]]:
        """Wait for the work to finish, then return the bot's messages in the thread."""
        await wait_until(lambda: len(self.bot_replies(thread_ts, channel)) >= count)
        await self.settle()
        return self.bot_replies(thread_ts, channel)


@asynccontextmanager
async def running_bot(
    fake: FakeSlack,
    backend: Backend,
    *,
    transport: str = "socket",
    prompts: Prompts | None = None,
    **env: str,
) -> AsyncIterator[Harness]:
    """Start the bot against the fake Slack; stop it (and the backend) afterwards.

    `transport="http"` serves the HTTP Events API instead of Socket Mode; `prompts`
    replaces the prompts folder's texts (a test's own catalog, say).
    """
    harness = await start_bot(fake, backend, transport=transport, prompts=prompts, **env)
    try:
        yield harness
    finally:
        await harness.runner.stop()
        await backend.aclose()


async def built_runner(
    fake: FakeSlack,
    backend: Backend,
    *,
    transport: str = "socket",
    prompts: Prompts | None = None,
    **env: str,
) -> Runner:
    """The bot built (token checked, listeners on), neither listening nor loaded yet.

    `transport="http"` is HTTP mode: no app-level token, the fake's signing secret.
    """
    if transport == "http":
        env = {"SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": fake.signing_secret, **env}
    slack = await build_app(
        settings=settings_for(fake, **env),
        prompts=prompts or load_prompts(DEFAULT_PROMPTS),
        backend=backend,
    )
    return Runner(slack)


async def start_bot(
    fake: FakeSlack,
    backend: Backend,
    *,
    transport: str = "socket",
    prompts: Prompts | None = None,
    **env: str,
) -> Harness:
    """The bot built, its backend started and connected (stop it yourself)."""
    runner = await built_runner(fake, backend, transport=transport, prompts=prompts, **env)
    slack = runner.slack
    await runner.start_backend()
    if transport == "http":
        port = await runner.http(host="127.0.0.1", port=0)
        url = f"http://127.0.0.1:{port}/slack/events"
        return Harness(fake=fake, slack=slack, runner=runner, backend=backend, events_url=url)
    await runner.socket_mode()
    await fake.wait_connected()
    return Harness(fake=fake, slack=slack, runner=runner, backend=backend)
