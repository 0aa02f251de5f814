"""Bad files get one clear message in the thread; the bot keeps serving."""

from __future__ import annotations

import struct
import zlib

from tests.e2e.harness import Harness, png_bytes, running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack


def bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header claims billions of pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


async def notice_for(h: Harness, file: dict, text: str = "what is this?") -> dict:
    ts = await h.ask(text, files=[file])
    [reply] = await h.replies(ts)
    assert reply["metadata"]["event_type"] == "medgemma_notice"
    assert "error id" in reply["text"]
    return reply


async def test_html_login_page_asks_for_the_files_read_scope(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    file = fake_slack.add_file(
        png_bytes(), name="x.png", mimetype="image/png", filetype="png", html_login=True
    )
    async with running_bot(fake_slack, backend) as h:
        reply = await notice_for(h, file)
    assert "files:read" in reply["text"] and "reinstall" in reply["text"]
    assert backend.requests == []


async def test_oversized_file_is_not_downloaded(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    file = fake_slack.add_file(
        png_bytes(),
        name="big.png",
        mimetype="image/png",
        filetype="png",
        lie_about_size=250 * 1024 * 1024,
    )
    async with running_bot(fake_slack, backend) as h:
        reply = await notice_for(h, file)
    assert "200.0 MB" in reply["text"]
    assert fake_slack.file_requests == []  # refused on files[].size, before any byte


async def test_body_larger_than_declared_is_cut_off(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    body = png_bytes() + b"\0" * (3 * 1024 * 1024)
    file = fake_slack.add_file(
        body,
        name="x.png",
        mimetype="image/png",
        filetype="png",
        lie_about_size=1000,
        chunk_delay=0.002,
    )
    async with running_bot(fake_slack, backend, MEDGEMMA_MAX_FILE_MB="1") as h:
        reply = await notice_for(h, file)
    assert "1.0 MB" in reply["text"]
    assert fake_slack.files[file["id"]].bytes_sent < len(body)


async def test_a_damaged_pdf_is_called_damaged(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
    file = fake_slack.add_file(pdf, name="scan.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend) as h:
        reply = await notice_for(h, file)
    assert "damaged or incomplete" in reply["text"]


async def test_decompression_bomb_is_refused(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    file = fake_slack.add_file(bomb_png(), name="bomb.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend) as h:
        reply = await notice_for(h, file)
    assert "too many pixels" in reply["text"]


async def test_broken_image_then_a_good_one(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    broken = fake_slack.add_file(
        png_bytes()[:40], name="x.png", mimetype="image/png", filetype="png"
    )
    good = fake_slack.add_file(png_bytes(), name="y.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend) as h:
        reply = await notice_for(h, broken)
        assert "damaged" in reply["text"]
        ts = await h.ask("and this one?", files=[good])
        [answer] = await h.replies(ts)
    assert answer["metadata"]["event_type"] == "medgemma_answer"


async def test_redirect_to_a_foreign_host_is_not_followed(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    file = fake_slack.add_file(
        png_bytes(),
        name="x.png",
        mimetype="image/png",
        filetype="png",
        redirect_to=fake_slack.foreign_host.url,
    )
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask("look", files=[file])
        await h.replies(ts)
    assert fake_slack.foreign_host.requests == []  # neither the token nor the bot goes there
    assert fake_slack.file_requests[0][1] == f"Bearer {fake_slack.bot_token}"


async def test_slack_connect_stub_is_resolved_with_files_info(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    file = fake_slack.add_file(png_bytes(), name="x.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask("shared from another org", files=[fake_slack.file_stub(file)])
        [reply] = await h.replies(ts)
    assert reply["metadata"]["event_type"] == "medgemma_answer"
    assert fake_slack.calls_to("files.info")
    assert len(backend.requests[0].messages[-1].images) == 1


async def test_slow_download_times_out(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    file = fake_slack.add_file(
        png_bytes() + bytes(100_000),
        name="x.png",
        mimetype="image/png",
        filetype="png",
        chunk_delay=0.5,
    )
    async with running_bot(fake_slack, backend, SLACK_DOWNLOAD_TIMEOUT_S="1") as h:
        reply = await notice_for(h, file)
    assert "could not download" in reply["text"]
