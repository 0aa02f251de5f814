"""Several DICOM slices in one message: one ordered series, Google's layout, safe notes."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from bot.backends.base import ImagePart, TextPart
from tests.e2e.harness import asked, is_sheet, running_bot
from tests.fakes.backend import SAFETY_LINE, FakeBackend
from tests.fakes.slack import FakeSlack
from tests.imaging.helpers import ct_slices


async def test_a_shuffled_ct_series_is_ordered_labelled_and_noted(fake_slack: FakeSlack) -> None:
    files = [
        fake_slack.add_file(data, name=f"IM{i:04d}", mimetype="application/dicom", filetype="dcm")
        for i, data in enumerate(ct_slices(5))
    ]
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask("any haemorrhage?", files=files)
        reply, sheet = await h.replies(ts, count=2)
    assert is_sheet(sheet)  # what the model saw (test_contact_sheet.py)
    [request] = backend.requests
    parts = request.messages[-1].parts
    # Instruction first, each slice followed by its label, the question last.
    assert isinstance(parts[0], TextPart) and "5 slices of one CT acquisition" in parts[0].text
    images = [p.image for p in parts if isinstance(p, ImagePart)]
    labels = [p.text for p in parts[1:-1] if isinstance(p, TextPart)]
    assert labels == [f"SLICE {i}" for i in range(1, 6)]
    assert all(isinstance(parts[1 + 2 * i], ImagePart) for i in range(5))
    assert isinstance(parts[-1], TextPart) and parts[-1].text == SAFETY_LINE + "any haemorrhage?"
    # ct_slices makes each slice brighter than the one before: the order shows.
    means = [float(np.asarray(image).mean()) for image in images]
    assert means == sorted(means) and len(set(means)) == 5
    # The answer says how much of the series was read and that the files carry patient
    # identifiers -- without quoting any of them.
    notes = [b["elements"][0]["text"] for b in reply["blocks"] if b["block_id"].startswith("note")]
    assert any("5 of the series' 5 slices" in n for n in notes)
    assert any("patient identifiers" in n for n in notes)
    everything = str(reply) + str(fake_slack.calls)
    assert "CompressedSamples" not in everything  # CT_small's PatientName


async def test_a_zip_with_two_series_reads_the_larger_and_says_so(fake_slack: FakeSlack) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for i, data in enumerate(ct_slices(4)):
            zipped.writestr(f"study/series1/IM{i}.dcm", data)
        for i, data in enumerate(ct_slices(2, uid="1.2.3.4.5.6.7")):
            zipped.writestr(f"study/series2/IM{i}.dcm", data)
    file = fake_slack.add_file(
        buffer.getvalue(), name="study.zip", mimetype="application/zip", filetype="zip"
    )
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask("summarise the study", files=[file])
        reply, sheet = await h.replies(ts, count=2)
    assert is_sheet(sheet)
    assert len(backend.requests[0].messages[-1].images) == 4
    notes = [b["elements"][0]["text"] for b in reply["blocks"] if b["block_id"].startswith("note")]
    assert any("1 other series" in n for n in notes)
    assert any("4 of the series' 4 slices" in n for n in notes)


async def test_a_follow_up_on_a_series_is_answered_with_the_series(
    fake_slack: FakeSlack,
) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for i, data in enumerate(ct_slices(40)):
            zipped.writestr(f"IM{i}.dcm", data)
    file = fake_slack.add_file(
        buffer.getvalue(), name="ct.zip", mimetype="application/zip", filetype="zip"
    )
    backend = FakeBackend()
    # The configured budget (8192) holds no 40-slice series with an answer: it grows.
    async with running_bot(fake_slack, backend, MEDGEMMA_CONTEXT_TOKENS="8192") as h:
        root = await h.ask("describe the abdomen", files=[file])
        await h.replies(root)
        await h.ask("and is the spleen normal?", thread_ts=root, mention=False)
        await h.replies(root, count=2)
    follow_up = backend.requests[1].messages
    assert sum(len(m.images) for m in follow_up) == 40
    assert asked(follow_up[-1]) == "and is the spleen normal?"
    assert [m.role for m in follow_up] == ["user", "assistant", "user"]


async def test_which_model_reads_volumes_is_advice_for_the_logs_not_the_answer(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    files = [
        fake_slack.add_file(data, name=f"IM{i:04d}", mimetype="application/dicom", filetype="dcm")
        for i, data in enumerate(ct_slices(3))
    ]
    async with running_bot(fake_slack, FakeBackend(), MEDGEMMA_MODEL="google/medgemma-4b-it") as h:
        ts = await h.ask("any haemorrhage?", files=files)
        reply, _ = await h.replies(ts, count=2)
    assert "1.5" not in str(reply["blocks"])  # MedGemma 1 runs: the answer says nothing
    [advice] = [r for r in caplog.records if r.getMessage() == "model_advice"]
    assert advice.fields["trained_model"] == "google/medgemma-1.5-4b-it"  # type: ignore[attr-defined]
