"""A frame bomb takes two decoding processes; a bystander's photo is answered meanwhile.

Two 83 KB JPEG 2000 MR files of 300 blank 6000 x 6000 frames each kept both decoding
threads for 15 to 20 minutes before decode budgets, and another person's PNG waited
with them. Now each bomb is thinned to what its pixel budget pays for, runs in a
process a deadline can kill, and a question holding both processes gives one up to a
question holding none. The bounds here are generous ("not minutes"); the measured
figures are in docs/performance.md (bench/bad_input_memory.py).
"""

from __future__ import annotations

from tests.e2e.bad_input_cases import BUDGET
from tests.e2e.harness import png_bytes, running_bot, wait_until
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack
from tests.imaging import attacks

BYSTANDER_S = 20.0  # measured: about 2.5 s on two busy cores
BOMB_S = 60.0


async def test_a_bystander_is_answered_while_a_frame_bomb_is_decoded(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend()
    bombs = [
        fake_slack.add_file(
            attacks.frame_bomb(), name=f"mr{n}.dcm", mimetype="application/dicom", filetype="dcm"
        )
        for n in range(2)
    ]
    photo = fake_slack.add_file(png_bytes(), name="x.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, MEDGEMMA_DECODE_TIMEOUT_S="2") as h:
        bomb_ts = await h.ask("what is this?", files=bombs, user="U1")
        await wait_until(lambda: h.slack.files.decoders.decoding == 2, timeout_s=BOMB_S)
        photo_ts = await h.ask("and this?", files=[photo], user="U2")
        await wait_until(lambda: bool(h.bot_replies(photo_ts)), timeout_s=BYSTANDER_S)
        [answer] = h.bot_replies(photo_ts)
        await wait_until(lambda: bool(h.bot_replies(bomb_ts)), timeout_s=BOMB_S)
        await h.settle()
        [refusal] = h.bot_replies(bomb_ts)
    assert answer["metadata"]["event_type"] == "medgemma_answer"
    assert refusal["metadata"]["event_type"] == "medgemma_notice"
    assert BUDGET in refusal["text"]
    # The photo was answered while the bombs were still being decoded.
    assert float(answer["ts"]) < float(refusal["ts"])
    assert len(backend.requests) == 1  # nothing of the bombs reached the model
