"""What the bot fetches: Slack's own hosts over HTTPS and the configured API, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import DownloadRedirected, FilesSkipped
from bot.pipeline.limits import SizeCap
from bot.slack.webapi.files import SlackDownloads, is_slack_host
from tests.fakes.slack import FakeSlack

API = "http://127.0.0.1:8123/api/"

# (case id, URL, whether the bot token goes with it)
HOSTS: list[tuple[str, str, bool]] = [
    ("files host", "https://files.slack.com/files-pri/T1-F1/x.png", True),
    ("slack.com", "https://slack.com/api/files.info", True),
    ("Grid workspace", "https://acme-health.enterprise.slack.com/files/x", True),
    ("workspace", "https://acme.slack.com/files/U1/F1/x.png", True),
    ("edge host", "https://files-edu.slack-edge.com/x.png", True),
    ("GovSlack", "https://files.slack-gov.com/files-pri/x", True),
    ("GovSlack apex", "https://slack-gov.com/api/", True),
    ("upper case host", "https://FILES.SLACK.COM/x", True),
    ("configured API origin", "http://127.0.0.1:8123/files/F1/x.png", True),
    ("plain http to Slack", "http://files.slack.com/x.png", False),
    ("look-alike suffix", "https://files.slack.com.evil.example/x", False),
    ("look-alike prefix", "https://evilslack.com/x", False),
    ("user info in URL", "https://files.slack.com@evil.example/x", False),
    ("other port of the API host", "http://127.0.0.1:9999/files/x", False),
    ("sign-in provider", "https://login.microsoftonline.com/saml", False),
    ("Drive", "https://docs.google.com/document/d/abc", False),
]


@pytest.mark.parametrize(("name", "url", "allowed"), HOSTS, ids=[c[0] for c in HOSTS])
def test_token_only_to_slack(name: str, url: str, allowed: bool) -> None:
    assert is_slack_host(url, api_url=API) is allowed


@pytest_asyncio.fixture
async def downloads(fake_slack: FakeSlack) -> AsyncIterator[SlackDownloads]:
    async with aiohttp.ClientSession() as session:
        yield SlackDownloads(
            client=AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url),
            session=session,
            token=fake_slack.bot_token,
            api_url=fake_slack.api_url,
            cap=SizeCap(max_bytes=1 << 20),
            timeout_s=5,
        )


def hosted(fake: FakeSlack, **kwargs: Any) -> dict[str, Any]:
    content = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    return fake.add_file(content, name="x.png", mimetype="image/png", filetype="png", **kwargs)


async def test_a_file_on_slacks_host_is_fetched_with_the_token(
    fake_slack: FakeSlack, downloads: SlackDownloads
) -> None:
    file = hosted(fake_slack)
    assert (await downloads.download(file)).startswith(b"\x89PNG")
    assert fake_slack.file_requests == [(file["id"], f"Bearer {fake_slack.bot_token}")]


async def test_a_url_elsewhere_is_not_fetched(
    fake_slack: FakeSlack, downloads: SlackDownloads
) -> None:
    file = hosted(fake_slack)
    file["url_private_download"] = fake_slack.foreign_host.url + "internal/x.png"
    with pytest.raises(FilesSkipped):
        await downloads.download(file)
    assert fake_slack.foreign_host.requests == [] and fake_slack.file_requests == []


async def test_a_redirect_off_slack_is_not_followed(
    fake_slack: FakeSlack, downloads: SlackDownloads
) -> None:
    # localhost: a loopback address that is not the configured API's origin.
    file = hosted(fake_slack, redirect_to=fake_slack.foreign_host.url + "metadata")
    with pytest.raises(DownloadRedirected):
        await downloads.download(file)
    assert fake_slack.foreign_host.requests == []


async def test_a_redirect_within_slack_is_followed(
    fake_slack: FakeSlack, downloads: SlackDownloads
) -> None:
    target = hosted(fake_slack)
    file = hosted(fake_slack, redirect_to=str(target["url_private_download"]))
    assert (await downloads.download(file)).startswith(b"\x89PNG")
    assert [f for f, _ in fake_slack.file_requests] == [file["id"], target["id"]]


@pytest.mark.parametrize(
    "external",
    [
        {"mode": "external", "is_external": True, "external_type": "gdrive"},
        {"mode": "hosted", "is_external": True},
        {"mode": "external", "external_type": "app"},  # files.remote.add
    ],
    ids=["drive", "is_external", "remote"],
)
async def test_a_stub_files_info_calls_external_is_refused(
    fake_slack: FakeSlack, downloads: SlackDownloads, external: dict[str, Any]
) -> None:
    file = hosted(fake_slack)
    fake_slack.files[str(file["id"])].info.update(external)
    with pytest.raises(FilesSkipped):
        await downloads.download(fake_slack.file_stub(file))
    assert fake_slack.file_requests == []
