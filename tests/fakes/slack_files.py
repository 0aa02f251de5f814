"""The fake's file host (`url_private`), and a foreign host that must never see the token."""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tests.fakes.slack_workspace import Workspace

FileObject = dict[str, Any]

# What Slack serves instead of a file to a request without a valid token or files:read.
LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="utf-8"><title>Slack</title></head>
<body class="sign_in">
<h1>Sign in to Fake Workspace</h1>
<form id="signin_form" action="/signin" method="post">
<input type="email" name="email" placeholder="name@work-email.com">
<button type="submit">Sign In With Email</button>
</form>
</body>
</html>
"""


def file_stub(file: FileObject) -> FileObject:
    """The stub a Slack Connect or restricted file arrives as; `files.info` has the rest."""
    return {"id": file["id"], "mode": "file_access", "file_access": "check_file_info"}


@dataclass(kw_only=True)
class HostedFile:
    """One uploaded file: its Slack object, its bytes and how the host treats it.

    Fields other than `info` and `content` may be changed by a test at any time.
    """

    info: FileObject
    content: bytes
    html_login: bool = False
    redirect_to: str | None = None
    chunk_delay: float = 0.0
    chunk_size: int = 16 * 1024
    bytes_sent: int = 0
    # files.info answers `access_denied` ("Unable to access the file (slack connect)",
    # files.info's error list on docs.slack.dev).
    access_denied: bool = False

    @property
    def streamed(self) -> bool:
        """Sent chunked, without Content-Length: when slow or when its size is a lie."""
        return self.chunk_delay > 0 or self.info["size"] != len(self.content)


class FileHost:
    """Serves `GET /files/<id>/<name>` like files.slack.com and records who asked how."""

    def __init__(self, *, workspace: Workspace) -> None:
        self.workspace = workspace
        self.base_url = ""
        self.files: dict[str, HostedFile] = {}
        self.requests: list[tuple[str, str | None]] = []
        self._ids = itertools.count(1)

    def add(
        self,
        content: bytes,
        *,
        name: str,
        mimetype: str,
        filetype: str,
        user: str = "U1",
        title: str | None = None,
        original_w: int | None = None,
        original_h: int | None = None,
        html_login: bool = False,
        redirect_to: str | None = None,
        chunk_delay: float = 0.0,
        lie_about_size: int | None = None,
        file_id: str | None = None,
    ) -> FileObject:
        """Host a file and return (a copy of) its Slack file object.

        `html_login` serves the login page even to the bot token; `redirect_to` answers
        302 to that URL; `chunk_delay` sends 16 KiB chunks with a pause between them;
        `lie_about_size` is the `size` the file object claims instead of the real one;
        `file_id` one handed out before by `new_id` (an upload's, see slack_uploads.py).
        """
        if not self.base_url:
            raise RuntimeError("start the FakeSlack before adding files")
        file_id = file_id or self.new_id()
        url = f"{self.base_url}{file_id}/{quote(name)}"
        now = int(time.time())
        info: FileObject = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title if title is not None else name,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": user,
            "user_team": self.workspace.team_id,
            "editable": False,
            "size": len(content) if lie_about_size is None else lie_about_size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url,
            "url_private_download": f"{url}?download=1",
            "permalink": f"{self.workspace.url}files/{user}/{file_id}/{quote(name)}",
            "has_rich_preview": False,
            "file_access": "visible",
        }
        if original_w is not None and original_h is not None:
            info["original_w"] = original_w
            info["original_h"] = original_h
        self.files[file_id] = HostedFile(
            info=info,
            content=content,
            html_login=html_login,
            redirect_to=redirect_to,
            chunk_delay=chunk_delay,
        )
        return copy.deepcopy(info)

    def new_id(self) -> str:
        """A file id no other file has."""
        return f"F{next(self._ids):08d}"

    def info(self, file_id: str) -> FileObject | None:
        """A copy of the full file object, or None."""
        hosted = self.files.get(file_id)
        return copy.deepcopy(hosted.info) if hosted is not None else None

    def denied(self, file_id: str) -> bool:
        """Whether files.info refuses this file to the bot."""
        hosted = self.files.get(file_id)
        return hosted is not None and hosted.access_denied

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one download the way Slack's file host does."""
        file_id = request.match_info["file_id"]
        auth = request.headers.get("Authorization")
        self.requests.append((file_id, auth))
        hosted = self.files.get(file_id)
        if hosted is None:
            return web.Response(status=404, text="Not Found", content_type="text/html")
        if hosted.redirect_to is not None:
            raise web.HTTPFound(hosted.redirect_to)
        authorized = auth == f"Bearer {self.workspace.bot_token}"
        if not authorized or hosted.html_login or "files:read" not in self.workspace.scopes:
            return web.Response(text=LOGIN_PAGE, content_type="text/html", charset="utf-8")
        if not hosted.streamed:
            hosted.bytes_sent += len(hosted.content)
            headers = {"Content-Type": hosted.info["mimetype"]}
            return web.Response(body=hosted.content, headers=headers)
        return await _stream(request, hosted)


async def _stream(request: web.Request, hosted: HostedFile) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": hosted.info["mimetype"]})
    response.enable_chunked_encoding()
    await response.prepare(request)
    content = hosted.content
    try:
        for start in range(0, len(content), hosted.chunk_size):
            chunk = content[start : start + hosted.chunk_size]
            await response.write(chunk)
            hosted.bytes_sent += len(chunk)
            if hosted.chunk_delay:
                await asyncio.sleep(hosted.chunk_delay)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client gave up on the download, which is what some tests want
    return response


class ForeignHost:
    """A second server, reached as `localhost` (not 127.0.0.1), to redirect downloads to.

    It records the Authorization header of every request, to prove that the bot
    does not send its token to a host other than Slack's.
    """

    def __init__(self) -> None:
        self.body = b"foreign bytes"
        self.content_type = "application/octet-stream"
        self.requests: list[tuple[str, str | None]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    @property
    def saw_authorization(self) -> bool:
        """True when any request to this host carried an Authorization header."""
        return any(auth is not None for _, auth in self.requests)

    async def start(self) -> None:
        """Listen on an ephemeral port."""
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://localhost:{port}/"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path_qs, request.headers.get("Authorization")))
        return web.Response(body=self.body, content_type=self.content_type)
