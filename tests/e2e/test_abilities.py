"""MedGemma 1.5's chest X-ray abilities in Slack, the fake model scripted with Google's
output formats: boxes drawn on the film, a film compared with its prior, and answers cut
at the length limit continued on request."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from bot.backends.base import ImagePart, TextPart
from bot.imaging.boxes import COLOURS
from bot.prompts import load_prompts
from bot.settings import DEFAULT_PROMPTS
from tests.e2e.harness import findings, png_bytes, running_bot
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack
from tests.imaging.helpers import dicom_bytes, parse, sample

PROMPTS = load_prompts(DEFAULT_PROMPTS)
MG1 = "google/medgemma-4b-it"
# Google's notebook output: reasoning, then the final answer as a fenced json list.
LOCATED = [
    "The right clavicle projects over the upper zone on the image's left, ",
    "which is the patient's right.\n\nFinal Answer: ",
    '```json[{"box_2d": [140, 110, 340, 470], "label": "right clavicle"}]```',
]


def note(key: str, **params: object) -> str:
    return PROMPTS.text("format", "note", note=PROMPTS.text("notes", key, **params))


def notes_of(reply: dict[str, Any]) -> list[str]:
    """The note blocks of an answer, as posted."""
    return [
        b["elements"][0]["text"]
        for b in reply.get("blocks") or []
        if b.get("block_id", "").startswith("note-")
    ]


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def photo(fake: FakeSlack, size: tuple[int, int] = (64, 48)) -> dict[str, Any]:
    data = png_bytes(size, colour=(120, 120, 120))
    return fake.add_file(data, name="cxr.png", mimetype="image/png", filetype="png")


def film(fake: FakeSlack, *, date: str, rows: int, columns: int, name: str) -> dict[str, Any]:
    """A small chest radiograph (pydicom-data's RG1, cropped) taken on `date`."""
    ds = parse(sample("RG1_UNCI.dcm"))
    pixels = ds.pixel_array[:rows, :columns].copy()
    ds.Rows, ds.Columns, ds.PixelData = rows, columns, pixels.tobytes()
    ds.StudyDate, ds.PatientName, ds.PatientID = date, "", ""
    return fake.add_file(dicom_bytes(ds), name=name, mimetype="application/dicom", filetype="dcm")


async def test_where_is_gets_the_models_boxes_drawn_on_the_film(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend().then(Step(chunks=LOCATED))
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("Where is the right clavicle?", files=[photo(fake_slack)])
        answer, drawn = await h.replies(ts, count=2)
    # Google's recipe: one user turn, the padded film, then the localisation prompt.
    [turn] = backend.requests[0].messages
    image, prompt = turn.parts
    assert isinstance(image, ImagePart) and image.image.size == (64, 64)
    assert isinstance(prompt, TextPart) and prompt.text.startswith("Instructions:\n")
    assert "Query:\nWhere is the right clavicle? Don't give" in prompt.text
    assert backend.requests[0].max_new_tokens == 1000
    # The answer is the model's text, with a note that the boxes may be wrong.
    assert "Final Answer:" in findings(answer)
    assert escaped(note("boxes_drawn")) in notes_of(answer)
    # Then the film, as the model saw it, with the box, in the thread.
    assert drawn["text"] == PROMPTS.text("sheet", "boxes_comment")
    assert drawn["files"][0]["title"] == "Where the model placed it: 1 box(es)"
    [shared] = fake_slack.uploads.shared
    assert (shared.channel, shared.thread_ts) == (h.channel, ts)
    picture = np.asarray(Image.open(io.BytesIO(shared.content)).convert("RGB"))
    assert picture.shape == (512, 512, 3)  # 64 px square, enlarged 8 times
    sent = np.asarray(image.image.resize((512, 512), Image.Resampling.NEAREST))
    # [140, 110, 340, 470] of 512: rows 71.7..174, columns 56.3..240.6
    assert (picture[120, 57] == COLOURS[0]).all()  # the box's left edge
    assert (picture[300, 300] == sent[300, 300]).all()  # elsewhere the film as sent
    assert (picture[0, 300] == 0).all()  # the padding the model saw, kept


async def test_boxes_that_cannot_be_read_leave_the_answer_and_a_note(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend().then(Step(chunks=["It is in the upper zone. Final Answer: [140, 110]"]))
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("where is the right clavicle", files=[photo(fake_slack)])
        [answer] = await h.replies(ts)
        await h.settle()
    assert findings(answer) == "It is in the upper zone. Final Answer: [140, 110]"
    assert escaped(note("boxes_unreadable")) in notes_of(answer)
    assert fake_slack.uploads.shared == []


async def test_medgemma_1_answers_where_in_words_and_says_it_draws_no_boxes(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend().then(Step(chunks=["In the upper zone."]))
    async with running_bot(fake_slack, backend, MEDGEMMA_MODEL=MG1) as h:
        ts = await h.ask("Where is the right clavicle?", files=[photo(fake_slack)])
        [answer] = await h.replies(ts)
        await h.settle()
    assert [m.role for m in backend.requests[0].messages] == ["system", "user"]
    assert escaped(note("no_boxes")) in notes_of(answer)
    assert fake_slack.uploads.shared == []
    assert not any("1.5" in n for n in notes_of(answer))  # advice is for the logs


async def test_two_films_are_compared_the_older_first(
    fake_slack: FakeSlack, transport: str
) -> None:
    # The newer film is shared first; its study date makes the other the prior.
    newer = film(fake_slack, date="20250301", rows=240, columns=200, name="b.dcm")
    older = film(fake_slack, date="20240105", rows=200, columns=240, name="a.dcm")
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("Any change since the prior film?", files=[newer, older])
        replies = await h.replies(ts, count=2)  # the answer, then what the model saw
    [turn] = backend.requests[0].messages  # one user turn, no system prompt
    first, second, text = turn.parts
    assert isinstance(first, ImagePart) and isinstance(second, ImagePart)
    assert isinstance(text, TextPart) and text.text.endswith("Any change since the prior film?")
    # The older film (200 rows x 240 columns) is padded above and below; the newer at the
    # sides: the prior comes first, with nothing between the two images.
    prior, current = np.asarray(first.image), np.asarray(second.image)
    assert (prior[0] == 0).all() and not (prior[:, 0] == 0).all()
    assert (current[:, 0] == 0).all() and not (current[0] == 0).all()
    assert backend.requests[0].max_new_tokens == 600
    posted = notes_of(replies[0])
    assert escaped(note("prior_by_date")) in posted
    assert escaped(note("comparison")) in posted  # the same-patient caveat, always


async def test_a_cut_answer_says_so_and_continue_gets_the_rest(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = (
        FakeBackend()
        .then(Step(chunks=["The lungs are clear and the"], finish="length"))
        .then(Step(chunks=["heart is normal in size."]))
    )
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("Describe the film.", files=[photo(fake_slack)])
        [first] = await h.replies(ts)
        await h.ask("continue", thread_ts=ts, mention=False)
        second = (await h.replies(ts, count=2))[1]
    limit = backend.requests[0].max_new_tokens
    assert escaped(note("answer_cut", limit=limit)) in notes_of(first)
    again = backend.requests[1].messages
    assert [m.role for m in again] == ["user", "assistant", "user"]
    assert again[1].text == "The lungs are clear and the"  # the cut answer, read back
    assert again[2].text.endswith(PROMPTS.abilities.continuation)
    assert len(again[0].images) == 1  # with the film
    assert findings(second) == "heart is normal in size."
    assert notes_of(second) == []  # this one ended by itself


async def test_the_disclaimer_says_not_for_emergencies(fake_slack: FakeSlack) -> None:
    async with running_bot(fake_slack, FakeBackend()) as h:
        ts = await h.ask("what is this?", files=[photo(fake_slack)])
        [answer] = await h.replies(ts)
    assert "Not for urgent or emergency use: the bot alerts no one." in answer["text"]
