"""A real redis-server for the tests, on a unix socket in a temporary folder (never a mock).

In a conftest.py:

    from tests.redis_server import redis_url  # noqa: F401

Each test that asks for `redis_url` gets a fresh, empty server that keeps nothing on
disk, stopped after the test. Debian's `redis-server` package provides the binary;
`./scripts/test` installs it where it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

START_TIMEOUT_S = 10.0
INSTALL_HINT = (
    "redis-server is not installed: the state tests run a real one. Install it with "
    "`apt-get install -y redis-server` (Debian/Ubuntu; ./scripts/test does this) or "
    "`brew install redis` (macOS)"
)


@contextmanager
def running_redis() -> Iterator[str]:
    """Start redis-server on a unix socket; yield its unix:// URL; stop it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    # A short folder of its own: socket paths are limited to about 100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="redis-", dir="/tmp"))
    sock = folder / "redis.sock"
    args = [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
    args += ["--save", "", "--appendonly", "no", "--dir", str(folder), "--loglevel", "warning"]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(sock, server)
        yield f"unix://{sock}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for(sock: Path, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not sock.exists():
        if server.poll() is not None:
            error = server.stderr.read().decode(errors="replace") if server.stderr else ""
            pytest.fail(f"redis-server exited at start-up: {error.strip()}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"redis-server did not open {sock} in {START_TIMEOUT_S}s", pytrace=False)
        time.sleep(0.01)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The unix:// URL of a fresh redis-server, stopped after the test."""
    with running_redis() as url:
        yield url
