"""Lab reports and other documents in Slack: a PDF read page by page, its values asked
for with the extraction instruction and posted as a table checked against the PDF's
text, a warning when its pages carry patient identifiers; a photo of a report asked
the same way. The fake model is scripted with the summary and json list asked for."""

from __future__ import annotations

from typing import Any

from bot.backends.base import ImagePart, TextPart
from bot.prompts import load_prompts
from bot.settings import DEFAULT_PROMPTS
from tests.e2e.harness import findings, png_bytes, running_bot
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack
from tests.imaging.pdfs import LAB_LINES, PATIENT_LINES, pdf

PROMPTS = load_prompts(DEFAULT_PROMPTS)
READ = [
    "The white cell count is above its reference range.\n\n",
    '```json\n[{"name": "Haemoglobin", "result": "13.2", "unit": "g/dL", ',
    '"reference_range": "12.0-15.5"}, {"name": "White cell count", "result": "11.8", ',
    '"unit": "x10^9/L", "reference_range": "4.0-11.0"}, ',
    '{"name": "Platelets", "result": "205", "unit": "x10^9/L", "reference_range": "150-400"}]\n```',
]


def note(key: str, **params: object) -> str:
    text = PROMPTS.text("format", "note", note=PROMPTS.text("notes", key, **params))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def notes_of(reply: dict[str, Any]) -> list[str]:
    return [
        b["elements"][0]["text"]
        for b in reply.get("blocks") or []
        if b.get("block_id", "").startswith("note-")
    ]


def table_of(reply: dict[str, Any]) -> list[list[str]]:
    [table] = [b for b in reply.get("blocks") or [] if b.get("type") == "table"]
    return [[cell["text"] for cell in row] for row in table["rows"]]


def report(fake: FakeSlack, *pages: tuple[str, ...]) -> dict[str, Any]:
    data = pdf(pages)
    return fake.add_file(data, name="labs.pdf", mimetype="application/pdf", filetype="pdf")


async def test_a_lab_reports_values_come_as_a_table_checked_against_its_text(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend().then(Step(chunks=READ))
    async with running_bot(fake_slack, backend, transport=transport) as h:
        file = report(fake_slack, (*PATIENT_LINES, *LAB_LINES), ("Page 2: comments",))
        ts = await h.ask("What are the values in this report?", files=[file])
        [answer] = await h.replies(ts)
    # One user turn: each page as the model sees it and its label, then the instruction.
    [turn] = backend.requests[0].messages
    images = [p for p in turn.parts if isinstance(p, ImagePart)]
    texts = [p.text for p in turn.parts if isinstance(p, TextPart)]
    assert [i.image.size for i in images] == [(896, 896), (896, 896)]
    assert texts[:2] == ["PAGE 1", "PAGE 2"]
    assert texts[-1].endswith("Question:\nWhat are the values in this report?")
    assert '"name", "result", "unit" and "reference_range"' in texts[-1]
    # The summary as findings, the values as Slack's table block, 205 flagged (250 printed).
    assert findings(answer) == "The white cell count is above its reference range."
    assert table_of(answer) == [
        ["Test", "Result", "Unit", "Reference range", "Check"],
        ["Haemoglobin", "13.2", "g/dL", "12.0-15.5", "in the PDF text"],
        ["White cell count", "11.8", "x10^9/L", "4.0-11.0", "in the PDF text"],
        ["Platelets", "205", "x10^9/L", "150-400", "⚠ not in the PDF text"],
    ]
    assert notes_of(answer)[:1] == [note("document_identifiers")]
    assert note("values_table") in notes_of(answer)
    assert note("values_unchecked", count=1) in notes_of(answer)


async def test_a_photo_of_a_report_is_asked_for_its_values_and_says_they_are_unchecked(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend().then(Step(chunks=READ))
    async with running_bot(fake_slack, backend) as h:
        data = png_bytes((120, 160), colour=(250, 250, 250))
        file = fake_slack.add_file(data, name="labs.png", mimetype="image/png", filetype="png")
        ts = await h.ask("¿Cuáles son los valores de la analítica?", files=[file])
        [answer] = await h.replies(ts)
    [turn] = backend.requests[0].messages
    assert "Read the laboratory values printed" in turn.text
    assert "radiologist" not in turn.text
    assert table_of(answer)[0] == ["Test", "Result", "Unit", "Reference range"]
    assert note("values_no_text") in notes_of(answer)


async def test_a_question_about_a_pdf_sends_its_pages_in_order(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(Step(chunks=["A normal blood count."]))
    async with running_bot(fake_slack, backend) as h:
        file = report(fake_slack, LAB_LINES, ("Page 2",), ("Page 3",))
        ts = await h.ask("Summarise this report", files=[file])
        [answer] = await h.replies(ts)
    text = backend.requests[0].messages[-1].text
    assert "3 pages of one document" in text and "PAGE 3" in text
    assert findings(answer) == "A normal blood count."
    assert not [b for b in answer["blocks"] if b.get("type") == "table"]
    assert note("document_identifiers") not in notes_of(answer)


async def test_model_values_that_cannot_be_read_leave_the_answer_and_a_note(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend().then(Step(chunks=["Haemoglobin is 13.2 g/dL."]))
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask("List the values", files=[report(fake_slack, LAB_LINES)])
        [answer] = await h.replies(ts)
    assert findings(answer) == "Haemoglobin is 13.2 g/dL."
    assert note("values_unreadable") in notes_of(answer)


async def test_a_values_answer_is_posted_once_whole_not_streamed_as_raw_json(
    fake_slack: FakeSlack, transport: str
) -> None:
    # In a DM an answer streams; a values answer's json would show as it streams and the
    # stream would then be replaced by the table. It is posted whole, once.
    backend = FakeBackend().then(Step(chunks=READ, chunk_delay_s=0.05))
    env = {"MEDGEMMA_STREAMING": "on"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        file = report(fake_slack, LAB_LINES)
        ts = await h.ask("Values please?", files=[file], channel="D1", channel_type="im")
        [answer] = await h.replies(ts, channel="D1")
        await h.settle()
    assert fake_slack.calls_to("chat.startStream") == []
    assert fake_slack.calls_to("chat.delete") == []
    assert findings(answer) == "The white cell count is above its reference range."
    assert table_of(answer)[0] == ["Test", "Result", "Unit", "Reference range", "Check"]


async def test_a_follow_up_reads_the_values_table_back(
    fake_slack: FakeSlack, transport: str
) -> None:
    # The table is part of the bot's answer: a follow-up about one value must see it.
    backend = FakeBackend().then(Step(chunks=READ))
    async with running_bot(fake_slack, backend, transport=transport) as h:
        file = report(fake_slack, LAB_LINES)
        root = await h.ask("What are the values in this report?", files=[file])
        await h.replies(root)
        await h.ask("is the platelet count normal?", thread_ts=root, mention=False)
        await h.replies(root, count=2)
    earlier = backend.requests[1].messages[1]
    assert earlier.role == "assistant"
    assert earlier.text.startswith("The white cell count is above its reference range.")
    assert "| Platelets | 205 | x10^9/L | 150-400 | ⚠ not in the PDF text |" in earlier.text
