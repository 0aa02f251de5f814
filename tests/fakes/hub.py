"""A fake Hugging Face Hub on 127.0.0.1, and a Hugging Face cache in a folder.

The Hub answers the two calls the bot makes before loading (`model_info` and
`auth_check`) as the real one does: the same paths, status codes and `X-Error-Code`
headers, which huggingface_hub turns into its typed errors. Every request is recorded,
so a test can show that nothing asked the Hub at all.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"
BAD_TOKEN = "hf_rejected"


@dataclass
class FakeHub:
    """What the Hub knows: its models, which are gated, and who accepted their terms."""

    models: set[str] = field(
        default_factory=lambda: {"google/medgemma-1.5-4b-it", "google/medgemma-4b-it"}
    )
    gated: set[str] = field(default_factory=set)
    granted: set[str] = field(default_factory=set)  # tokens that accepted the terms
    proxy_status: int | None = None  # a proxy in front that answers this for everything
    requests: list[str] = field(default_factory=list)  # "METHOD /path", any method
    connections: int = 0  # connections accepted, a request sent or not
    url: str = ""

    def answer(self, path: str, token: str) -> tuple[int, dict[str, str]]:
        """Status and headers for GET `path` with bearer `token` ("" for none)."""
        if self.proxy_status is not None:
            return self.proxy_status, {}
        if token == BAD_TOKEN:
            return 401, {"X-Error-Message": "Invalid credentials in Authorization header"}
        parts = path.split("?", 1)[0].strip("/").split("/")  # api/models/org/name[/...]
        repo = "/".join(parts[2:4])
        rest = parts[4:]
        if parts[:2] != ["api", "models"] or repo not in self.models:
            return 404, {"X-Error-Code": "RepoNotFound"}
        if rest[:1] == ["revision"] and rest[1:] not in (["main"], [COMMIT]):
            return 404, {"X-Error-Code": "RevisionNotFound"}
        if rest == ["auth-check"] and repo in self.gated and token not in self.granted:
            return 403, {"X-Error-Code": "GatedRepo"}
        return 200, {}


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            token = self.headers.get("authorization", "").removeprefix("Bearer ")
            status, headers = hub.answer(self.path, token)
            body = json.dumps({"id": "x", "sha": COMMIT} if status == 200 else {}).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            hub.requests.append(f"{self.command} {self.path}")  # every method, answered or not

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test reads `hub.requests`

    return Handler


class _Server(ThreadingHTTPServer):
    def __init__(self, hub: FakeHub) -> None:
        super().__init__(("127.0.0.1", 0), _handler(hub))
        self.hub = hub

    def verify_request(self, request: object, client_address: object) -> bool:
        self.hub.connections += 1
        return True


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A running fake Hub that huggingface_hub's clients in this process talk to."""
    from huggingface_hub import constants

    hub = FakeHub()
    server = _Server(hub)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def cache_model(cache: Path, repo: str, checkpoint: Path) -> Path:
    """Put `checkpoint`'s files in a Hugging Face cache at `cache` as `repo`@main."""
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / COMMIT
    shutil.copytree(checkpoint, snapshot)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT, encoding="utf-8")
    return snapshot


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache that huggingface_hub in this process reads."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache
