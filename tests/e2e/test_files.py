"""Files as real workspaces send them: Connect stubs, links, sign-in pages, other hosts."""

from __future__ import annotations

from tests.e2e.harness import findings, png_bytes, running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_files import LOGIN_PAGE

DRIVE_LINK = {  # a Google Drive file shared in Slack: a link, not an upload
    "id": "F0DRIVE01",
    "name": "ct-report",
    "mode": "external",
    "is_external": True,
    "external_type": "gdrive",
    "url_private": "https://docs.google.com/document/d/abc",
}


def png(fake: FakeSlack) -> dict[str, object]:
    return fake.add_file(png_bytes(), name="x.png", mimetype="image/png", filetype="png")


async def test_a_sign_in_page_elsewhere_is_not_called_a_missing_scope(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    fake_slack.foreign_host.body = LOGIN_PAGE.encode()
    fake_slack.foreign_host.content_type = "text/html"
    file = fake_slack.add_file(
        png_bytes(),
        name="x.png",
        mimetype="image/png",
        filetype="png",
        redirect_to=fake_slack.foreign_host.url + "sso/login",
    )
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("look", files=[file])
        [reply] = await h.replies(ts)
    assert "sign-in page outside Slack" in reply["text"]
    assert "files:read" not in reply["text"]
    assert fake_slack.foreign_host.requests == []  # a redirect off Slack is not followed
    assert backend.requests == []


async def test_a_file_hosted_outside_slack_is_never_fetched(
    fake_slack: FakeSlack, prompts, transport: str
) -> None:
    # An "internal service" on loopback, named as the file's url_private.
    backend = FakeBackend()
    fake_slack.foreign_host.body = png_bytes()
    fake_slack.foreign_host.content_type = "image/png"
    file = png(fake_slack)
    file["url_private"] = file["url_private_download"] = fake_slack.foreign_host.url + "x.png"
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("what is this?", files=[file])
        [reply] = await h.replies(ts)
    assert fake_slack.foreign_host.requests == [] and fake_slack.file_requests == []
    assert backend.requests == []
    assert prompts.text("errors", "files_skipped") in reply["text"]


async def test_a_connect_stub_that_resolves_to_an_external_file_is_refused(
    fake_slack: FakeSlack, prompts, transport: str
) -> None:
    backend = FakeBackend()
    file = png(fake_slack)
    # files.info says what the stub really is: a remote file (files.remote.add), or Drive.
    info = fake_slack.files[str(file["id"])].info
    info.update(mode="external", is_external=True, external_type="app")
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("from a partner", files=[fake_slack.file_stub(file)])
        [reply] = await h.replies(ts)
    assert fake_slack.calls_to("files.info") and fake_slack.file_requests == []
    assert backend.requests == []
    assert prompts.text("errors", "files_skipped") in reply["text"]


async def test_a_connect_file_the_bot_may_not_read(fake_slack: FakeSlack, transport: str) -> None:
    backend = FakeBackend()
    file = png(fake_slack)
    fake_slack.files[str(file["id"])].access_denied = True
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("shared from a partner", files=[fake_slack.file_stub(file)])
        [reply] = await h.replies(ts)
    assert "does not let me open this file" in reply["text"]
    assert fake_slack.file_requests == [] and backend.requests == []


async def test_a_stub_marked_access_denied_is_not_even_looked_up(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    stub = {"id": "F0DENIED1", "mode": "file_access", "file_access": "access_denied"}
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("and this?", files=[stub])
        [reply] = await h.replies(ts)
    assert "does not let me open this file" in reply["text"]
    assert fake_slack.calls_to("files.info") == []


async def test_only_a_drive_link_gets_a_message_not_an_imageless_answer(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("", files=[DRIVE_LINK])
        [reply] = await h.replies(ts)
    assert reply["metadata"]["event_type"] == "medgemma_notice"
    assert "upload the image itself" in reply["text"]
    assert backend.requests == []


async def test_a_link_beside_an_upload_is_named_in_a_note(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("compare these", files=[png(fake_slack), DRIVE_LINK])
        [reply] = await h.replies(ts)
    assert findings(reply).endswith("1 image(s) reviewed.")
    notes = [b["elements"][0]["text"] for b in reply["blocks"] if b["block_id"].startswith("note")]
    assert any("links, snippets or posts" in n for n in notes)
