"""Real bot processes (`python -m bot run`) against the fakes, to kill and to stop.

Each runs this checkout's code (PYTHONPATH), in its own folder (no stray `.env`), with
the openai backend pointed at the fake model server and Slack at the fake Slack. Its
JSON logs go to a file the test can read.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
START_S = 60.0  # importing and connecting on a loaded CI box
STOP_S = 60.0
_OWN = ("MEDGEMMA_", "SLACK_", "HF_", "LOG_")


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_env(fake: FakeSlack, model: FakeOpenAIServer, **env: str) -> dict[str, str]:
    """The environment of a bot process pointed at the fakes; `env` adds or overrides."""
    values = {k: v for k, v in os.environ.items() if not k.startswith(_OWN)}
    values.update(
        PYTHONPATH=str(ROOT),
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_APP_TOKEN=fake.app_token,
        SLACK_API_URL=fake.api_url,
        # Ping often enough to notice a dead connection, not so often that a loaded box
        # takes a slow pong for one.
        SLACK_SOCKET_PING_S="2",
        MEDGEMMA_BACKEND="openai",
        MEDGEMMA_BASE_URL=model.base_url,
        MEDGEMMA_SERVER_TIMEOUT_S="60",
        MEDGEMMA_STATE_FILE="off",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    values.update(env)
    return values


STARTED: list[asyncio.subprocess.Process] = []  # every bot process, killed after its test


def kill_leftovers() -> None:
    """SIGKILL what a test left running (a failed test must not leave a bot behind)."""
    while STARTED:
        process = STARTED.pop()
        if process.returncode is None:
            process.kill()


@dataclass
class BotProcess:
    """One `python -m bot run` with its health port and log file."""

    process: asyncio.subprocess.Process
    port: int
    log: Path

    @classmethod
    async def start(
        cls, env: dict[str, str], *, folder: Path, name: str, health: bool = True
    ) -> BotProcess:
        """Start it; `ready()` waits for it to answer. Without `health`, no probe port."""
        port = free_port()
        probes = {"MEDGEMMA_HEALTH_PORT": str(port)} if health else {}
        log = folder / f"{name}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--host",
                "127.0.0.1",
                cwd=folder,
                env={**env, **probes},
                stdout=out,
                stderr=out,
            )
        STARTED.append(process)
        return cls(process=process, port=port, log=log)

    async def readyz(self) -> tuple[int, list[str]]:
        """The readiness probe's status and what it waits for (0: nothing listens)."""
        url = f"http://127.0.0.1:{self.port}/readyz"
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                body = await response.json()
                return response.status, list(body.get("waiting_for", []))
        except aiohttp.ClientConnectionError:
            return 0, []

    async def metrics(self) -> str:
        """The /metrics text."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return await response.text()

    async def ready(self) -> None:
        """Wait until /readyz says 200 (model server reached, Slack connected)."""
        async with asyncio.timeout(START_S):
            while (await self.readyz())[0] != 200:
                if self.process.returncode is not None:
                    raise AssertionError(f"the bot exited at start-up:\n{self.tail()}")
                await asyncio.sleep(0.1)

    async def exited(self) -> int:
        """Wait for it to end by itself; the exit status."""
        async with asyncio.timeout(START_S):
            return await self.process.wait()

    async def kill(self) -> None:
        """SIGKILL: no drain, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self) -> int:
        """SIGTERM, as Kubernetes stops a pod; the exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_S):
            return await self.process.wait()

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The bot's own JSON log events (named `name`, if given)."""
        found = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if name is None or record.get("event") == name:
                    found.append(record)
        return found

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
