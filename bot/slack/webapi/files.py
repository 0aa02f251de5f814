"""Downloading files shared in Slack: authenticated, size-capped, timed, Slack's hosts only.

Only Slack's own hosts are fetched, over HTTPS (slack.com, *.slack.com, *.slack-edge.com
and GovSlack's slack-gov.com, where Enterprise Grid and GovSlack send file downloads),
and the origin of SLACK_API_URL: a file whose URL points anywhere else is not fetched at
all (a message can name any URL, an internal service's included), and a redirect off
those hosts is not followed (it is what single sign-on or a proxy does: the download was
sent away from Slack). So no request leaves for a private, loopback or link-local
address the operator did not configure, and the bot token goes with every request.
Slack answers a request it will not authorise with an HTML login page and status 200:
the app lacks `files:read`. Slack Connect and restricted files arrive as stubs
(`file_access: "check_file_info"`) that `files.info` completes; `access_denied` means
the bot may not read the file, and a file it reports as external or remote (a Drive
link, `files.remote.add`) is not an upload the bot can read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import (
    DownloadFailed,
    DownloadRedirected,
    FileAccessDenied,
    FilesSkipped,
    MissingFilesScope,
)
from bot.imaging import sniff
from bot.logs import event
from bot.pipeline.limits import SizeCap
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
CHUNK = 256 * 1024
SLACK_DOMAINS = ("slack.com", "slack-edge.com", "slack-gov.com")
EXTERNAL_MODES = frozenset({"external", "remote"})  # files.info's `mode` of non-uploads
Origin = tuple[str, str, int]


def origin(url: str) -> Origin:
    """Scheme, host and port of a URL (the unit the token is scoped to)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def is_slack_host(url: str, *, api_url: str) -> bool:
    """Whether the bot token may be sent to `url`."""
    if origin(url) == origin(api_url):
        return True
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    on_slack = any(host == d or host.endswith("." + d) for d in SLACK_DOMAINS)
    return parts.scheme == "https" and on_slack


@dataclass(frozen=True, eq=False)
class SlackFile:
    """A file shared in Slack (or a Slack Connect stub): a `SharedFile` for the loader."""

    obj: Mapping[str, Any]  # the file object of the message (or files.info)
    downloads: SlackDownloads

    @property
    def key(self) -> str:
        """The Slack file id."""
        return str(self.obj["id"])

    @property
    def size(self) -> int | None:
        """The size Slack declares, None for a stub."""
        size = self.obj.get("size")
        return size if isinstance(size, int) else None

    async def read(self) -> bytes:
        """Download the file's bytes."""
        return await self.downloads.download(self.obj)


class SlackDownloads:
    """Downloads Slack files: token only to Slack's hosts, capped, timed."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        session: aiohttp.ClientSession,
        token: str,
        api_url: str,
        cap: SizeCap,
        timeout_s: float,
    ) -> None:
        self._client = client
        self._session = session
        self._token = token
        self._api_url = api_url
        self._cap = cap
        self._timeout = timeout_s

    def file(self, obj: Mapping[str, Any]) -> SlackFile:
        """The shared file for a Slack file object (or a Slack Connect stub)."""
        return SlackFile(obj=obj, downloads=self)

    async def download(self, obj: Mapping[str, Any]) -> bytes:
        """The file's bytes; raises FileError subclasses with user-safe details."""
        file_id = str(obj["id"])
        file = await self._complete(obj)
        size = file.get("size")
        self._cap.check(size if isinstance(size, int) else None)
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if not url:
            raise DownloadFailed("file has no download URL")
        if not is_slack_host(url, api_url=self._api_url):
            event(log, "download_refused", level=logging.WARNING, file_id=file_id, reason="host")
            raise FilesSkipped("the file's URL is not on Slack's file hosts")
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                data = await self._download(url)
        except TimeoutError as exc:
            raise DownloadFailed("download timed out") from exc
        except aiohttp.ClientError as exc:
            raise DownloadFailed(f"download failed: {type(exc).__name__}") from exc
        seconds = round(time.monotonic() - started, 3)
        event(log, "file_downloaded", file_id=file_id, bytes=len(data), seconds=seconds)
        return data

    async def _complete(self, obj: Mapping[str, Any]) -> Mapping[str, Any]:
        """The full file object: stubs and URL-less objects are completed by files.info."""
        if obj.get("file_access") == "access_denied":
            raise FileAccessDenied("Slack says the bot may not read this file")
        needs_info = obj.get("file_access") == "check_file_info" or obj.get("mode") == "file_access"
        if needs_info or not (obj.get("url_private_download") or obj.get("url_private")):
            obj = await self._file_info(str(obj["id"]))
        if obj.get("is_external") or obj.get("external_type") or obj.get("mode") in EXTERNAL_MODES:
            event(log, "download_refused", file_id=str(obj["id"]), reason="external")
            raise FilesSkipped("an external or remote file, not an upload")
        return obj

    async def _file_info(self, file_id: str) -> Mapping[str, Any]:
        try:
            response = await self._client.files_info(file=file_id)
        except SLACK_FAILURES as exc:
            code = failure_code(exc)
            if code == "access_denied":
                raise FileAccessDenied("files.info: access_denied") from None
            raise DownloadFailed(f"files.info failed: {code}") from None
        info = response.get("file")
        if not isinstance(info, dict):
            raise DownloadFailed("files.info returned no file")
        if info.get("file_access") == "access_denied":
            raise FileAccessDenied("files.info: file_access access_denied")
        return info

    async def _download(self, url: str) -> bytes:
        headers = {"Authorization": f"Bearer {self._token}"}
        for _ in range(MAX_REDIRECTS + 1):
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    if not is_slack_host(url, api_url=self._api_url):
                        raise DownloadRedirected("a redirect off Slack's hosts, not followed")
                    continue
                if response.status != 200:
                    raise DownloadFailed(f"HTTP {response.status}")
                if response.content_type == "text/html":
                    raise MissingFilesScope("Slack answered with an HTML page")
                data = await self._read_capped(response)
                if sniff(data[:1024]) == "html":
                    raise MissingFilesScope("Slack answered with an HTML page")
                return data
        raise DownloadFailed("too many redirects")

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        self._cap.check(response.content_length)
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.content.iter_chunked(CHUNK):
            total += len(chunk)
            self._cap.check(total)
            chunks.append(chunk)
        return b"".join(chunks)
