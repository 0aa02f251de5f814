"""The fake's Socket Mode endpoint: hello, envelopes out, acknowledgements in."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from typing import Any, Literal

from aiohttp import WSCloseCode, WSMsgType, web

from tests.fakes.slack_workspace import Workspace

logger = logging.getLogger(__name__)

Envelope = dict[str, Any]


class SocketHub:
    """Holds the open WebSockets; sends each envelope on one of them.

    Slack gives each envelope to one connection of the app, picked at random, retries
    included ("each payload may be sent to any of the connections", Socket Mode docs;
    bolt-python #448, #1071): set `pick = "random"` (with `rng` seeded by the test) to
    play several replicas. The default, the newest connection, keeps single-bot tests
    deterministic across reconnects.
    """

    def __init__(self, *, workspace: Workspace) -> None:
        self.workspace = workspace
        self.pick: Literal["newest", "random"] = "newest"
        self.rng = random.Random(0)
        self.delivered_to: list[int] = []  # the connection index each envelope went to
        self.tickets: set[str] = set()
        self.connections: list[web.WebSocketResponse] = []
        self.connect_count = 0
        self.sent: list[Envelope] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        self._acked: dict[str, asyncio.Event] = {}
        self._connected = asyncio.Event()
        self._transports: dict[int, asyncio.BaseTransport] = {}
        self.refuse_next = 0  # connection attempts to turn away (as during an outage)

    def issue_ticket(self) -> str:
        """A ticket for one `/socket?ticket=` URL, as apps.connections.open hands out."""
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        return ticket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Accept a client, greet it with `hello` and record what it sends back."""
        if request.query.get("ticket") not in self.tickets:
            return web.Response(status=401, text="invalid ticket")
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return web.Response(status=503, text="service unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        if request.transport is not None:
            self._transports[id(ws)] = request.transport
        self.connect_count += 1
        try:
            await ws.send_json(self._hello())
            self._connected.set()
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._record(message.data)
        finally:
            self.connections.remove(ws)
            self._transports.pop(id(ws), None)
            if not self.connections:
                self._connected.clear()
        return ws

    def drop_all(self) -> None:
        """Cut every connection without a close frame, as a failing network does."""
        for transport in list(self._transports.values()):
            transport.abort()

    async def send(self, envelope: Envelope, *, wait_s: float, to: int | None = None) -> str:
        """Send an envelope once a client is connected; returns its envelope_id.

        `to` names the connection (by connection order); otherwise `pick` chooses.
        """
        await self.wait_connected(wait_s=wait_s)
        envelope_id: str = envelope["envelope_id"]
        self._acked[envelope_id] = asyncio.Event()
        self.sent.append(envelope)
        if to is None:
            to = self.rng.randrange(len(self.connections)) if self.pick == "random" else -1
        self.delivered_to.append(to % len(self.connections))
        await self.connections[to].send_str(json.dumps(envelope))
        return envelope_id

    async def send_disconnect(self, *, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does every few hours."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}}
        for ws in list(self.connections):
            await ws.send_json(message)

    async def wait_connected(self, *, wait_s: float) -> None:
        """Return once at least one client is connected and greeted."""
        try:
            async with asyncio.timeout(wait_s):
                await self._connected.wait()
        except TimeoutError:
            raise TimeoutError(f"no Socket Mode client connected within {wait_s}s") from None

    async def wait_acked(self, envelope_id: str, *, wait_s: float) -> dict[str, Any]:
        """The acknowledgement the client sent for `envelope_id`."""
        acked = self._acked.get(envelope_id)
        if acked is None:
            raise KeyError(f"envelope {envelope_id} was never sent")
        try:
            async with asyncio.timeout(wait_s):
                await acked.wait()
        except TimeoutError:
            raise TimeoutError(f"envelope {envelope_id} not acknowledged in {wait_s}s") from None
        return self.acks[envelope_id]

    def unacked(self) -> list[str]:
        """Envelope ids sent but not (yet) acknowledged, oldest first."""
        return [e["envelope_id"] for e in self.sent if e["envelope_id"] not in self.acks]

    async def close_all(self) -> None:
        """Close every connection, as at shutdown."""
        for ws in list(self.connections):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake slack stopping")

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.connections),
            "debug_info": {
                "host": "applink-fake-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.workspace.app_id},
        }

    def _record(self, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            logger.warning("fake slack got a non-JSON socket message: %r", data)
            return
        self.received.append(message)
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if envelope_id is None:
            return
        if envelope_id in self.acks:
            logger.warning("envelope %s acknowledged twice", envelope_id)
        self.acks.setdefault(envelope_id, message)
        acked = self._acked.get(envelope_id)
        if acked is not None:
            acked.set()
