"""A DICOM whole-slide image shared in Slack reaches the model as tissue patches at about
10x with Google's WSI instruction, not as frames."""

from __future__ import annotations

from bot.backends.base import ImagePart
from tests.e2e.harness import findings, running_bot
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack
from tests.imaging.slides import dicom_wsi
from tests.imaging.slides import synthetic as slides


async def test_a_dicom_slide_is_sent_as_tissue_patches(fake_slack: FakeSlack) -> None:
    slide = dicom_wsi.build(microns=1.0, enlarge=7, tile=256)  # cells of 896 px at 10x
    backend = FakeBackend().then(Step(chunks=["Benign tissue."]))
    async with running_bot(fake_slack, backend) as h:
        file = fake_slack.add_file(
            slide.data, name="slide.dcm", mimetype="application/dicom", filetype="dcm"
        )
        ts = await h.ask("What tissue is this?", files=[file])
        answer, sheet = await h.replies(ts, count=2)
    [turn] = [m for m in backend.requests[0].messages if m.role == "user"]
    patches = [p for p in turn.parts if isinstance(p, ImagePart)]
    assert len(patches) == len(slides.TISSUE_CELLS)  # each tissue cell once, no glass
    assert all(p.image.size == (896, 896) for p in patches)
    assert "patches of tissue picked at random from one whole-slide image" in turn.text
    assert "FRAME" not in turn.text
    assert findings(answer) == "Benign tissue."
    assert sheet["files"]  # the patches as the model saw them, in the thread
