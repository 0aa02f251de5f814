"""Real `run` processes at start-up: fail fast with one line, stop on request, no port unasked."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.processes import BotProcess, bot_env
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack import FakeSlack

STOP_WITHIN_S = 15.0  # the bound for SIGTERM during a hanging start-up


@pytest.fixture
async def black_hole() -> AsyncIterator[str]:
    """An http:// address that accepts connections and never answers (a hung server)."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1"
    for writer in held:
        writer.close()
    server.close()


def hanging_model_folder(folder: Path) -> Path:
    """A model folder whose files are FIFOs: reading any of them blocks forever."""
    folder.mkdir()
    names = ["config.json", "preprocessor_config.json", "processor_config.json"]
    names += ["tokenizer_config.json", "tokenizer.json", "chat_template.jinja"]
    for name in names:
        os.mkfifo(folder / name)
    return folder


async def wait_for_event(bot: BotProcess, name: str, *, timeout_s: float = 60) -> None:
    """Until the bot's log holds the event `name` (fails if the bot exits first)."""
    async with asyncio.timeout(timeout_s):
        while not bot.events(name):
            if bot.process.returncode is not None:
                raise AssertionError(f"the bot exited before {name}:\n{bot.tail()}")
            await asyncio.sleep(0.05)


async def stop_seconds(bot: BotProcess) -> tuple[int, float]:
    """SIGTERM, then the exit status and how long the process took to end."""
    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(60):
        status = await bot.process.wait()
    return status, time.monotonic() - started


async def test_a_refused_app_token_stops_start_up_before_the_model_loads(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    env = bot_env(fake_slack, fake_openai, SLACK_APP_TOKEN="xapp-revoked")
    bot = await BotProcess.start(env, folder=tmp_path, name="bad-app-token")
    started = time.monotonic()
    assert await bot.exited() == 2
    assert time.monotonic() - started < 60
    last = bot.tail(1)
    assert last.startswith("medgemma-bot: Slack rejected SLACK_APP_TOKEN (invalid_auth)")
    assert "Traceback" not in bot.tail(200)
    assert fake_openai.requests == [] and not fake_openai.model_listings


async def test_sigterm_while_the_model_server_hangs_at_start_up(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, black_hole: str, tmp_path: Path
) -> None:
    hung = {"MEDGEMMA_BASE_URL": black_hole, "MEDGEMMA_SERVER_TIMEOUT_S": "600"}
    env = bot_env(fake_slack, fake_openai, **hung)
    bot = await BotProcess.start(env, folder=tmp_path, name="hung-server")
    await wait_for_event(bot, "slack_ready")
    await asyncio.sleep(0.5)  # inside the backend's start now, waiting for the server
    status, seconds = await stop_seconds(bot)
    assert status == 0 and seconds < STOP_WITHIN_S
    assert bot.events("stopped_during_start_up") and bot.events("stopped")


async def test_sigterm_while_the_weights_load_ends_at_once(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    # The load runs in a thread that cannot be interrupted; the process must not wait for it.
    model = hanging_model_folder(tmp_path / "model")
    local = {"MEDGEMMA_MODEL": str(model), "MEDGEMMA_DEVICE": "cpu", "HF_HUB_OFFLINE": "1"}
    env = bot_env(fake_slack, fake_openai, MEDGEMMA_BACKEND="transformers", **local)
    bot = await BotProcess.start(env, folder=tmp_path, name="hung-load")
    await wait_for_event(bot, "slack_ready")
    await asyncio.sleep(1.0)  # the loading thread is blocked on a FIFO now
    status, seconds = await stop_seconds(bot)
    assert status == 0 and seconds < STOP_WITHIN_S, bot.tail()


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process listens on (Linux: its socket inodes in /proc/net/tcp*)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def test_two_default_bots_run_side_by_side_without_a_port(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    env = bot_env(fake_slack, fake_openai)
    bots = [
        await BotProcess.start(env, folder=tmp_path, name=f"default-{i}", health=False)
        for i in range(2)
    ]
    for bot in bots:
        await wait_for_event(bot, "connected")
    assert [listening_ports(bot.process.pid) for bot in bots] == [set(), set()]
    for bot in bots:
        assert await bot.terminate() == 0
