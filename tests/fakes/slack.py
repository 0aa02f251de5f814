"""A fake Slack on 127.0.0.1: Web API, file host and Socket Mode, with inspectable state.

Point the real clients at it: `AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)`
and a Socket Mode client whose web client uses the same `base_url`. In a conftest.py:

    from tests.fakes.slack import fake_slack  # noqa: F401

The parts live in `slack_*.py` beside this module; this one wires them to one aiohttp
application and re-exports the builders tests need.

Where it follows Slack's documentation on purpose (each cited where it is built):
- Text a person types is stored and delivered escaped, with bare links wrapped
  (`client_text`); apps' text is stored as sent (escaping it is the app's job).
- `conversations.replies` / `.history` return `metadata` only with
  `include_all_metadata`; history honours `oldest`, `latest` and `inclusive`.
- Per-method rate limits by tier (`slack_rates.py`), answered with 429 and
  `Retry-After`; a Slack minute lasts `fake.web.rates.minute_s` (6 s by default).
- Slack Connect stubs carry `file_access: "check_file_info"`.
- Uploads (`files.getUploadURLExternal`, the upload URL, `files.completeUploadExternal`)
  take the documented arguments and give the documented errors, and always need
  `files:write` (`slack_uploads.py`); completed uploads are in `fake.uploads.shared`.
- Interactivity (`slack_interactive.py`): `fake.interactive` builds block_actions,
  message_action and view_submission payloads and `app_home_opened` events;
  `send_interactive` delivers a payload in an `interactive` envelope. views.open,
  .publish and .update (`slack_views.py`, `fake.views`) check triggers (3 s, once)
  and views (type, modal title/submit, 100 blocks, metadata and id lengths).
- assistant.threads.setStatus, .setSuggestedPrompts and .setTitle (`slack_assistant.py`,
  `fake.assistant`) take the documented arguments; prompts with a `thread_ts` silently
  do nothing for an agent app, as the page warns.
- Streams (`slack_chat.py`) keep every chunk they were sent, task and plan updates
  included (`fake.streams[...].chunks`).

Where it differs from Slack:
- Hosts are 127.0.0.1 (and `localhost` for the foreign host), not slack.com.
- Every channel id exists (except those in `unknown_channels`); membership and scopes
  are not modelled, except files:read on the file host and files:write on uploads.
  Set `fake.web.enforce_scopes = True` for `missing_scope` errors on the rest of the
  Web API too.
- Nothing is sent by itself: no `message_changed` echo after chat.update, no retry of
  an unacknowledged envelope. Tests send those with `send_event(..., retry_attempt=n)`.
- conversations.replies pages hold 15 messages unless `limit` says otherwise; later
  pages start with the parent again (`fake.web.repeat_thread_parent = False` turns that
  off); a reply's ts gives its whole thread.
- chat.postMessage text over 40,000 characters is `msg_too_long` (Slack truncates).
  Stream and status error names (`message_not_in_streaming_state`,
  `invalid_arguments`) and the 12,000-character cap on streamed text are best guesses.
- The file host redirects before it checks the token; slow or size-lying files are
  sent chunked, without Content-Length.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp import web

from tests.fakes.slack_assistant import AssistantApi
from tests.fakes.slack_chat import Params, Stream
from tests.fakes.slack_events import (
    ChannelType,
    Event,
    app_mention_event,
    channel_join_event,
    client_text,
    event_callback_body,
    event_callback_payload,
    events_api_envelope,
    file_share_message,
    message_changed_event,
    message_deleted_event,
    message_event,
    new_event_id,
    signed_request_headers,
)
from tests.fakes.slack_files import FileHost, FileObject, ForeignHost, HostedFile, file_stub
from tests.fakes.slack_interactive import Interactions, interactive_body, interactive_envelope
from tests.fakes.slack_markup import live_markup, rendered_texts
from tests.fakes.slack_socket import SocketHub
from tests.fakes.slack_store import Message, MessageStore
from tests.fakes.slack_uploads import Uploads
from tests.fakes.slack_views import ViewsApi
from tests.fakes.slack_web import WebApi
from tests.fakes.slack_workspace import DEFAULT_SCOPES, Workspace

__all__ = [
    "FakeSlack",
    "HostedFile",
    "app_mention_event",
    "channel_join_event",
    "event_callback_body",
    "fake_slack",
    "file_share_message",
    "file_stub",
    "interactive_body",
    "message_changed_event",
    "message_deleted_event",
    "message_event",
    "new_event_id",
    "signed_request_headers",
]

WAIT_TIMEOUT_S = 5.0


class FakeSlack:
    """One fake workspace with one installed app, served on an ephemeral port.

    `add_file`, `add_user`, `fail_next`, `delay` and `calls_to` are the methods of
    `FileHost` and `WebApi` of the same names.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_id: str = "T1",
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
        signing_secret: str = "test-secret",
    ) -> None:
        self.workspace = Workspace(
            bot_token=bot_token,
            app_token=app_token,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            team_id=team_id,
            scopes=tuple(scopes),
            signing_secret=signing_secret,
        )
        self.store = MessageStore()
        self.file_host = FileHost(workspace=self.workspace)
        self.socket = SocketHub(workspace=self.workspace)
        self.web = WebApi(
            workspace=self.workspace,
            store=self.store,
            file_host=self.file_host,
            socket_url=self._socket_url,
        )
        self.foreign_host = ForeignHost()
        self.interactive = Interactions(
            workspace=self.workspace,
            store=self.store,
            chat=self.web.chat,
            views=self.web.views,
            users=self.web.users,
        )
        # The knobs tests use most, bound straight from the part that owns them.
        self.add_user = self.web.add_user
        self.fail_next = self.web.fail_next
        self.delay = self.web.delay
        self.calls_to = self.web.calls_to
        self.add_file = self.file_host.add
        self._runner: web.AppRunner | None = None
        self._base = ""

    # -- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 (and start the foreign host)."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.web.handle)
        app.router.add_get("/files/{file_id}/{name:.*}", self.file_host.handle)
        app.router.add_get("/socket", self.socket.handle)
        app.router.add_post("/upload/v1/{ticket}", self.web.uploads.handle)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._base = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        self.file_host.base_url = self.files_base
        self.web.uploads.base_url = f"{self._base}upload/v1/"
        await self.foreign_host.start()

    async def stop(self) -> None:
        """Close the sockets and stop both servers."""
        await self.socket.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.foreign_host.stop()

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- addresses and identity

    @property
    def api_url(self) -> str:
        """The Web API base URL, for `AsyncWebClient(base_url=...)`."""
        return f"{self._base}api/"

    @property
    def files_base(self) -> str:
        """Where `url_private` of every hosted file starts."""
        return f"{self._base}files/"

    def _socket_url(self) -> str:
        ws_base = self._base.replace("http://", "ws://", 1)
        return f"{ws_base}socket?ticket={self.socket.issue_ticket()}"

    @property
    def bot_token(self) -> str:
        return self.workspace.bot_token

    @property
    def app_token(self) -> str:
        return self.workspace.app_token

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.workspace.bot_id

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def signing_secret(self) -> str:
        return self.workspace.signing_secret

    @property
    def scopes(self) -> tuple[str, ...]:
        """The bot token's scopes; assignable (e.g. drop files:read to get the login page)."""
        return self.workspace.scopes

    @scopes.setter
    def scopes(self, scopes: tuple[str, ...]) -> None:
        self.workspace.scopes = tuple(scopes)

    # -- Web API: recorded state and knobs

    @property
    def calls(self) -> list[tuple[str, Params]]:
        """Every Web API call in order: (method, params without the token)."""
        return self.web.calls

    @property
    def status_calls(self) -> list[dict[str, Any]]:
        """Accepted assistant.threads.setStatus calls: channel_id, thread_ts, status, loading."""
        return self.web.status_calls

    @property
    def reactions(self) -> dict[tuple[str, str], list[str]]:
        """Current reactions by (channel, message ts)."""
        return self.web.reactions

    @property
    def assistant(self) -> AssistantApi:
        """assistant.threads.*: `suggested` prompts, thread `titles`, the app's `view`."""
        return self.web.assistant

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        """Every chat.postEphemeral message."""
        return self.web.chat.ephemerals

    @property
    def views(self) -> ViewsApi:
        """views.*: open modals, Home tabs, triggers (`home_tab_enabled` may be turned off)."""
        return self.web.views

    @property
    def streams(self) -> dict[tuple[str, str], Stream]:
        """Streamed messages by (channel, ts)."""
        return self.web.chat.streams

    @property
    def uploads(self) -> Uploads:
        """External uploads: `pending`, `shared`, `requests`, `fail_next_upload`."""
        return self.web.uploads

    @property
    def unknown_channels(self) -> set[str]:
        """Channel ids that answer `channel_not_found`; every other id exists."""
        return self.web.unknown_channels

    # -- conversations

    def message(self, channel: str, ts: str) -> Message | None:
        """The stored message itself (mutable), or None."""
        return self.store.get(channel, ts)

    def messages_in(self, channel: str) -> list[Message]:
        """Every message of a channel, threads included, oldest first (copies)."""
        return self.store.all(channel)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Parent then replies (copies); empty when unknown."""
        return self.store.thread(channel, ts) or []

    def post_bot_message(
        self,
        *,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """Store a message as if the bot had posted it earlier; no call is recorded."""
        params = {"text": text, "thread_ts": thread_ts, "blocks": blocks, "metadata": metadata}
        return self.web.chat.bot_message(channel=channel, params=params)

    def post_user_message(
        self,
        *,
        channel: str,
        text: str,
        user: str = "U1",
        channel_type: ChannelType = "channel",
        thread_ts: str | None = None,
        files: list[FileObject] | None = None,
    ) -> list[Event]:
        """Store a user's message and return the events Slack delivers for it.

        `text` is what the person typed; it is stored and delivered the way Slack's
        clients send it (`client_text`: escaped, links wrapped). A channel message that
        mentions the bot gives [app_mention, message] with the same ts (send both: Slack
        does); a DM gives only the message event.
        """
        ts = self.store.new_ts()
        parent = self.store.get(channel, thread_ts) if thread_ts else None
        common: dict[str, Any] = {
            "channel": channel,
            "text": client_text(text),
            "user": user,
            "ts": ts,
            "thread_ts": thread_ts,
            "parent_user_id": parent.get("user") if parent else None,
            "team": self.team_id,
        }
        message = message_event(
            **common,
            channel_type=channel_type,
            files=files,
            subtype="file_share" if files else None,
        )
        stored = {
            k: v for k, v in message.items() if k not in ("channel", "event_ts", "channel_type")
        }
        self.store.add(channel, stored)
        events = [message]
        if channel_type != "im" and f"<@{self.bot_user_id}>" in text:
            events.insert(0, app_mention_event(**common, files=files))
        return events

    def live_markup(self) -> list[str]:
        """Live mentions, control sequences and links in everything the bot made visible.

        Its messages as stored (a stream's text is all its chunks together, so a sequence
        split across appends counts), its uploads' comments and its ephemeral messages:
        see `slack_markup.py` for what Slack renders as markup.
        """
        texts: list[str] = []
        for channel in self.store.channels:
            for message in self.store.all(channel):
                if message.get("bot_id") == self.bot_id:
                    texts += rendered_texts(message)
        texts += [s.initial_comment or "" for s in self.uploads.shared]
        for ephemeral in self.ephemerals:
            texts += rendered_texts(ephemeral)
        return [found for text in texts for found in live_markup(text)]

    # -- files

    @staticmethod
    def file_stub(file: FileObject) -> FileObject:
        """The Slack Connect stub of a file: {"id", "mode": "file_access", ...}."""
        return file_stub(file)

    @property
    def files(self) -> dict[str, HostedFile]:
        """Hosted files by id; their html_login, redirect_to, chunk_delay may be changed."""
        return self.file_host.files

    @property
    def file_requests(self) -> list[tuple[str, str | None]]:
        """Every download: (file id, Authorization header or None)."""
        return self.file_host.requests

    # -- Socket Mode

    async def send_event(
        self,
        event: Event,
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        to: int | None = None,
        team_id: str | None = None,
        api_app_id: str | None = None,
    ) -> str:
        """Deliver an event in an events_api envelope; the envelope_id.

        It goes on connection `to` (by connection order) if given, else on the one
        `socket.pick` chooses (the newest by default). Waits up to 5 s for a client to
        connect first. `team_id` and `api_app_id` default to this workspace and app.
        """
        payload = event_callback_payload(
            event,
            event_id=event_id or new_event_id(),
            team_id=team_id or self.team_id,
            api_app_id=api_app_id or self.workspace.app_id,
            bot_user_id=self.bot_user_id,
            token=self.workspace.verification_token,
        )
        envelope = events_api_envelope(
            payload,
            envelope_id=str(uuid.uuid4()),
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        return await self.socket.send(envelope, wait_s=WAIT_TIMEOUT_S, to=to)

    async def send_interactive(self, payload: dict[str, Any]) -> str:
        """Deliver an interaction payload in an `interactive` envelope; the envelope_id."""
        return await self.socket.send(interactive_envelope(payload), wait_s=WAIT_TIMEOUT_S)

    async def send_envelope(self, envelope: dict[str, Any]) -> str:
        """Send any envelope (e.g. `interactive`) as is; it must carry an envelope_id."""
        return await self.socket.send(envelope, wait_s=WAIT_TIMEOUT_S)

    # ASYNC109 prefers asyncio.timeout() around the call; a timeout= argument keeps the
    # bot's tests short and names what a failing test was waiting for.
    async def wait_connected(self, timeout: float = WAIT_TIMEOUT_S) -> None:  # noqa: ASYNC109
        """Return once a Socket Mode client is connected and greeted."""
        await self.socket.wait_connected(wait_s=timeout)

    async def wait_acked(
        self,
        envelope_id: str,
        timeout: float = WAIT_TIMEOUT_S,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The client's acknowledgement of `envelope_id` ({"envelope_id", maybe "payload"})."""
        return await self.socket.wait_acked(envelope_id, wait_s=timeout)

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell every client to reconnect, as Slack does every few hours."""
        await self.socket.send_disconnect(reason=reason)

    def unacked(self) -> list[str]:
        """Envelope ids sent but not acknowledged."""
        return self.socket.unacked()

    @property
    def acks(self) -> dict[str, dict[str, Any]]:
        """Acknowledgements by envelope_id."""
        return self.socket.acks


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started FakeSlack with the default workspace."""
    async with FakeSlack() as fake:
        yield fake
