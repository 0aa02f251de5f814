"""A question in, one answer in its thread: the main paths through the running bot."""

from __future__ import annotations

from pathlib import Path

from pydicom.data import get_testdata_file

from bot.backends.base import ChatMessage
from tests.e2e.harness import asked, findings, is_sheet, png_bytes, running_bot
from tests.fakes.backend import FakeBackend, digest
from tests.fakes.slack import FakeSlack

CT_SMALL = Path(get_testdata_file("CT_small.dcm")).read_bytes()


def roles(messages: tuple[ChatMessage, ...]) -> list[str]:
    return [m.role for m in messages]


async def test_mention_with_png_gets_findings_and_disclaimer(
    fake_slack: FakeSlack, prompts, transport: str
) -> None:
    backend = FakeBackend()
    png = fake_slack.add_file(png_bytes(), name="cxr.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("is there pneumonia?", files=[png])
        [reply] = await h.replies(ts)
    [request] = backend.requests
    # MedGemma 1.5 (the default): no system prompt, as Google's notebooks
    assert roles(request.messages) == ["user"]
    [user] = request.messages
    assert len(user.images) == 1 and user.images[0].mode == "RGB"
    assert asked(user) == "is there pneumonia?"  # the mention is stripped
    assert reply["thread_ts"] == ts
    said = f"Findings for {digest('is there pneumonia?')}: 1 image(s) reviewed."
    assert findings(reply) == said
    # Notifications, screen readers and search show `text`: the disclaimer is there too.
    assert reply["text"] == f"{said}\n\n{prompts.disclaimer}"
    blocks = reply["blocks"]
    assert blocks[0]["type"] == "markdown" and blocks[0]["text"] == said
    # The disclaimer is the Markdown paragraph after the findings, as a stream ends.
    assert [b["block_id"] for b in blocks[1:]] == ["disclaimer", "feedback"]
    assert blocks[1] == {"type": "markdown", "block_id": "disclaimer", "text": prompts.disclaimer}
    assert reply["metadata"]["event_type"] == "medgemma_answer"
    # A visible status while working, cleared at the end.
    statuses = [c["status"] for c in fake_slack.status_calls if c["thread_ts"] == ts]
    assert statuses[0] and statuses[-1] == ""
    assert not fake_slack.unacked()


async def test_medgemma_1_gets_the_radiologists_system_prompt(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    png = fake_slack.add_file(png_bytes(), name="cxr.png", mimetype="image/png", filetype="png")
    env = {"MEDGEMMA_MODEL": "google/medgemma-4b-it"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        ts = await h.ask("is there pneumonia?", files=[png])
        [reply] = await h.replies(ts)
    [request] = backend.requests
    assert roles(request.messages) == ["system", "user"]
    assert "radiologist" in request.messages[0].text
    assert "patient identifiers" in request.messages[0].text
    assert request.messages[1].text == "is there pneumonia?"  # no safety line: it has one
    assert findings(reply) == f"Findings for {digest('is there pneumonia?')}: 1 image(s) reviewed."


async def test_follow_up_without_upload_keeps_image_and_answer(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    png = fake_slack.add_file(png_bytes(), name="cxr.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, transport=transport) as h:
        root = await h.ask("what do you see?", files=[png])
        await h.replies(root)
        await h.ask("and the heart size?", thread_ts=root, mention=False)
        first, second = await h.replies(root, count=2)
    assert len(backend.requests) == 2
    follow_up = backend.requests[1].messages
    assert roles(follow_up) == ["user", "assistant", "user"]
    assert len(follow_up[0].images) == 1  # the earlier image, from its own turn
    assert follow_up[0].text == "what do you see?"  # the safety line: the newest only
    assert follow_up[1].text == findings(first)  # the earlier answer, without disclaimer
    assert asked(follow_up[2]) == "and the heart size?" and not follow_up[2].images
    assert findings(second).startswith(f"Findings for {digest('and the heart size?')}")
    # The image was downloaded once: the follow-up used the cache.
    assert [f for f, _ in fake_slack.file_requests] == [png["id"]]


async def test_dm_with_dicom(fake_slack: FakeSlack, transport: str) -> None:
    backend = FakeBackend()
    data = CT_SMALL
    dcm = fake_slack.add_file(data, name="slice.dcm", mimetype="application/dicom", filetype="dcm")
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("", files=[dcm], channel="D1", channel_type="im")
        reply, sheet = await h.replies(ts, count=2, channel="D1")
    assert is_sheet(sheet) and sheet["thread_ts"] == ts  # what the model saw, in the DM
    [request] = backend.requests
    assert asked(request.messages[-1]) == "Describe the findings."
    [image] = request.messages[-1].images
    assert image.mode == "RGB" and image.width == image.height
    assert findings(reply).startswith("Findings for")


async def test_follow_up_when_an_earlier_file_is_gone(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    png = fake_slack.add_file(png_bytes(), name="cxr.png", mimetype="image/png", filetype="png")
    async with running_bot(
        fake_slack, backend, transport=transport, MEDGEMMA_IMAGE_CACHE_MB="0"
    ) as h:
        root = await h.ask("what do you see?", files=[png])
        await h.replies(root)
        del fake_slack.files[png["id"]]  # deleted from Slack since: the host answers 404
        await h.ask("and now?", thread_ts=root, mention=False)
        _, second = await h.replies(root, count=2)
    assert second["metadata"]["event_type"] == "medgemma_answer"
    notes = [b["elements"][0]["text"] for b in second["blocks"] if b["block_id"].startswith("note")]
    assert any("could not be read again" in n for n in notes)
    assert backend.requests[1].messages[0].images == []  # the user turn that had it
