"""A frame bomb takes two decoding processes; a bystander's photo is answered meanwhile.

Two 83 KB JPEG 2000 MR files of 300 blank 6000 x 6000 frames each kept both decoding
threads for 15 to 20 minutes before decode budgets, and another person's PNG waited
with them. Now each bomb is thinned to what its pixel budget pays for, runs in a
process a deadline can kill, and a question holding both processes gives one up to a
question holding none. The bounds here are generous ("not minutes"); the measured
figures are in docs/performance.md (bench/bad_input_memory.py).
"""

from __future__ import annotations

import os

from tests.e2e.bad_input_cases import BUDGET
from tests.e2e.harness import png_bytes, running_bot, wait_until
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack, message_deleted_event
from tests.imaging import attacks

BYSTANDER_S = 20.0  # measured at the shipped settings: 0.4 s, 0.9 s on two busy cores
BOMB_S = 60.0


def frame_bombs(fake_slack: FakeSlack) -> list[dict[str, object]]:
    return [
        fake_slack.add_file(
            attacks.frame_bomb(), name=f"mr{n}.dcm", mimetype="application/dicom", filetype="dcm"
        )
        for n in range(2)
    ]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_bystander_is_answered_while_a_frame_bomb_is_decoded(
    fake_slack: FakeSlack,
) -> None:
    backend = FakeBackend()
    bombs = frame_bombs(fake_slack)
    photo = fake_slack.add_file(png_bytes(), name="x.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, MEDGEMMA_DECODE_TIMEOUT_S="2") as h:
        bomb_ts = await h.ask("what is this?", files=bombs, user="U1")
        downloaded = {file["id"] for file in bombs}
        await wait_until(lambda: downloaded <= {f for f, _ in fake_slack.file_requests})
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


async def test_deleting_a_frame_bomb_question_kills_its_decoding(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    bombs = frame_bombs(fake_slack)
    # A minute's deadline: only the deletion can stop the decoding within the wait.
    async with running_bot(fake_slack, backend, MEDGEMMA_DECODE_TIMEOUT_S="60") as h:
        ts = await h.ask("what is this?", files=bombs)
        decoders = h.slack.files.decoders
        await wait_until(lambda: decoders.decoding == 2, timeout_s=BOMB_S)
        pids = decoders.pids
        await h.deliver([message_deleted_event(channel="C1", deleted_ts=ts)])
        await wait_until(lambda: not any(alive(pid) for pid in pids))
        await h.settle()
        assert decoders.decoding == 0
    assert h.bot_replies(ts) == [] and backend.requests == []
