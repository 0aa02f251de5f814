"""The fake's external file uploads: getUploadURLExternal, the upload URL, completeUploadExternal.

Slack's three steps (slack_sdk's `files_upload_v2` makes all three), as documented on
docs.slack.dev/reference/methods/files.getUploadURLExternal and
docs.slack.dev/reference/methods/files.completeUploadExternal (the api.slack.com copies
list both as Tier 4):

1. `files.getUploadURLExternal(filename, length)`, both required, answers `upload_url`
   and `file_id`. A `length` of 0 is `missing_argument` ("Typically only occurs when
   the length provided is 0"); a missing filename or a length that is no whole number
   `invalid_arguments`; `alt_txt` over 1,000 characters `alt_txt_too_large`.
2. A POST of the bytes to `upload_url`, raw or multipart ("Slack will return HTTP 200
   if the upload is successful"): here 200 with the body "OK - <bytes received>".
3. `files.completeUploadExternal(files=[{"id", "title"}], channel_id, thread_ts,
   initial_comment)` shares the files. With a channel they appear as one bot message
   holding `files`, the comment as its text, in the thread of `thread_ts` ("never use a
   reply's ts value; use its parent"); without one they stay private. `files` missing
   or not a list of objects with an `id` is `invalid_arguments`; an id whose bytes never
   arrived, or that was completed before ("This method can only be called once"), is
   `file_not_found` ("Could not find the file from the upload ticket"); an unknown
   channel is `invalid_channel`.

Both methods need `files:write` (the scope Slack's upload guides and the files:write
scope page name for them). The fake checks it on every call, not only with
`fake.web.enforce_scopes`, as the file host always checks files:read: an app installed
before it asked for files:write lacks the scope until it is reinstalled, and tests of
that must not depend on a switch.

Best guesses, not documented: the shared message's shape (a bot message like
chat.postMessage's, plus `files`, `upload: true` and `subtype: "file_share"` as
conversations.replies shows people's uploads); `invalid_arguments` for `thread_ts`
without a channel; 404 for an unknown or spent upload URL. The upload URL does not ask
for the token (slack_sdk sends none to it) but records whether one came.
"""

from __future__ import annotations

import copy
import mimetypes
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.slack_chat import ChatApi, Handler, Params
from tests.fakes.slack_files import FileHost, FileObject
from tests.fakes.slack_limits import SlackError
from tests.fakes.slack_workspace import Workspace

MAX_ALT_TXT = 1000
UPLOAD_METHODS = frozenset({"files.getUploadURLExternal", "files.completeUploadExternal"})


@dataclass
class Upload:
    """One file between getUploadURLExternal and completeUploadExternal."""

    file_id: str
    filename: str
    length: int
    alt_txt: str | None
    content: bytes | None = None  # None until the bytes arrive at the upload URL


@dataclass(frozen=True)
class Shared:
    """A completed upload, as tests inspect it."""

    file: FileObject
    content: bytes
    channel: str | None  # None: completed without a channel, the file stays private
    thread_ts: str | None
    initial_comment: str | None
    message_ts: str | None  # the message that shows it, if shared in a channel


def _length(value: Any) -> int:
    try:
        length = int(str(value))
    except ValueError:
        raise SlackError("invalid_arguments", errors=["length must be an integer"]) from None
    if length == 0:
        raise SlackError("missing_argument")
    if length < 0:
        raise SlackError("invalid_arguments", errors=["length must be positive"])
    return length


def _file_refs(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise SlackError("invalid_arguments", errors=["files must be a non-empty array"])
    if not all(isinstance(f, dict) and isinstance(f.get("id"), str) for f in value):
        raise SlackError("invalid_arguments", errors=["each file needs an id"])
    return value


class Uploads:
    """The upload methods over the file host and the message store."""

    def __init__(self, *, workspace: Workspace, file_host: FileHost, chat: ChatApi) -> None:
        self.workspace = workspace
        self.file_host = file_host
        self.chat = chat
        self.base_url = ""  # where upload URLs start; set when the fake starts
        self.pending: dict[str, Upload] = {}  # by upload ticket
        self.shared: list[Shared] = []
        self.requests: list[tuple[str, str | None]] = []  # upload POSTs: ticket, Authorization
        self._failures: deque[int] = deque()

    def methods(self) -> dict[str, Handler]:
        """Web API method names and their handlers."""
        return {
            "files.getUploadURLExternal": self.get_upload_url,
            "files.completeUploadExternal": self.complete,
        }

    def fail_next_upload(self, status: int = 500, *, times: int = 1) -> None:
        """Answer the next `times` POSTs to an upload URL with `status` and keep no bytes."""
        self._failures.extend([status] * times)

    def get_upload_url(self, params: Params) -> dict[str, Any]:
        """files.getUploadURLExternal."""
        if not params.get("filename"):
            raise SlackError("invalid_arguments", errors=["filename is required"])
        if params.get("length") in (None, ""):
            raise SlackError("invalid_arguments", errors=["length is required"])
        alt_txt = params.get("alt_txt")
        if isinstance(alt_txt, str) and len(alt_txt) > MAX_ALT_TXT:
            raise SlackError("alt_txt_too_large")
        ticket = secrets.token_urlsafe(16)
        upload = Upload(
            file_id=self.file_host.new_id(),
            filename=str(params["filename"]),
            length=_length(params["length"]),
            alt_txt=alt_txt if isinstance(alt_txt, str) and alt_txt else None,
        )
        self.pending[ticket] = upload
        return {"ok": True, "upload_url": f"{self.base_url}{ticket}", "file_id": upload.file_id}

    async def handle(self, request: web.Request) -> web.Response:
        """The upload URL: a POST of the file's bytes (raw or multipart)."""
        ticket = request.match_info["ticket"]
        self.requests.append((ticket, request.headers.get("Authorization")))
        upload = self.pending.get(ticket)
        if upload is None or upload.content is not None:
            return web.Response(status=404, text="Not Found")
        if self._failures:
            return web.Response(status=self._failures.popleft(), text="upload failed")
        upload.content = await _body(request)
        return web.Response(text=f"OK - {len(upload.content)}")

    def complete(self, params: Params) -> dict[str, Any]:
        """files.completeUploadExternal."""
        refs = _file_refs(params.get("files"))
        channel = params.get("channel_id") or None
        thread_ts = params.get("thread_ts") or None
        if thread_ts and not channel:
            raise SlackError("invalid_arguments", errors=["thread_ts needs channel_id"])
        if channel is not None and (
            not isinstance(channel, str) or channel in self.chat.unknown_channels
        ):
            raise SlackError("invalid_channel")
        tickets = [self._ticket_of(str(ref["id"])) for ref in refs]
        files = [
            self._host(ticket, title=ref.get("title"))
            for ticket, ref in zip(tickets, refs, strict=True)
        ]
        comment = params.get("initial_comment") or None
        ts = self._share(files, channel=channel, thread_ts=thread_ts, comment=comment)
        for ticket, file in zip(tickets, files, strict=True):
            content = self.pending.pop(ticket).content or b""
            self.shared.append(Shared(file, content, channel, thread_ts, comment, ts))
        return {"ok": True, "files": files}

    def _ticket_of(self, file_id: str) -> str:
        for ticket, upload in self.pending.items():
            if upload.file_id == file_id and upload.content is not None:
                return ticket
        raise SlackError("file_not_found")

    def _host(self, ticket: str, *, title: Any) -> FileObject:
        """The completed file, hosted like any other (files.info and url_private work)."""
        upload = self.pending[ticket]
        mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        filetype = (mimetypes.guess_extension(mimetype) or ".binary").lstrip(".")
        info = self.file_host.add(
            upload.content or b"",
            name=upload.filename,
            mimetype=mimetype,
            filetype=filetype,
            user=self.workspace.bot_user_id,
            title=str(title) if title else upload.filename,
            file_id=upload.file_id,
        )
        if upload.alt_txt:
            info["alt_txt"] = self.file_host.files[upload.file_id].info["alt_txt"] = upload.alt_txt
        return info

    def _share(
        self,
        files: list[FileObject],
        *,
        channel: str | None,
        thread_ts: str | None,
        comment: str | None,
    ) -> str | None:
        """The bot message that shows the files in the channel (thread), or None."""
        if channel is None:
            return None
        message = self.chat.bot_message(
            channel=channel, params={"text": comment or "", "thread_ts": thread_ts}
        )
        shown = copy.deepcopy(files)
        message.update(
            {"subtype": "file_share", "upload": True, "display_as_bot": False, "files": shown}
        )
        return str(message["ts"])


async def _body(request: web.Request) -> bytes:
    """The uploaded bytes: the whole body, or the first file part of a multipart form."""
    if not request.content_type.startswith("multipart/"):
        return await request.read()
    reader = await request.multipart()
    first: bytes | None = None
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read()
        if part.filename:
            return bytes(data)
        first = bytes(data) if first is None else first
    return first or b""
