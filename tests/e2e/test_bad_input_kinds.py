"""Forty-odd kinds of bad or awkward input, as an attacker or a tired resident sends them.

Each gets exactly one reply; bytes that are not a readable image never reach the
model; the attack files (bad_input_cases.ATTACKS) are held to their decode budgets; a
valid-but-awkward file gets an answer; a message with some unreadable files is
answered about the others and names them; the bot keeps serving. The cases live in
bad_input_cases.py (bench/bad_input_memory.py runs them for memory figures).
"""

from __future__ import annotations

import pytest

from tests.e2e.bad_input_cases import ATTACKS, CASES, GOOD, Case, ask_case, upload
from tests.e2e.harness import findings, running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack


def test_there_are_at_least_35_kinds() -> None:
    assert len({c.name for c in CASES}) == len(CASES) >= 35


@pytest.mark.parametrize("case", CASES + ATTACKS, ids=[c.name for c in CASES + ATTACKS])
async def test_one_clear_reply_and_no_bad_bytes_reach_the_model(
    fake_slack: FakeSlack, case: Case
) -> None:
    backend = FakeBackend()
    env = {"SLACK_DOWNLOAD_TIMEOUT_S": "2", "MEDGEMMA_MAX_FILE_MB": "50", **case.env}
    async with running_bot(fake_slack, backend, **env) as h:
        reply = await ask_case(h, case)
        if case.says is not None:
            assert reply["metadata"]["event_type"] == "medgemma_notice", reply["text"]
            assert case.says in reply["text"], reply["text"]
            assert backend.requests == []  # nothing unreadable went to the model
        else:
            assert reply["metadata"]["event_type"] == "medgemma_answer", reply["text"]
            [request] = backend.requests
            assert sum(len(m.images) for m in request.messages) == case.images
            assert all(i.mode == "RGB" for m in request.messages for i in m.images)
            notes = " ".join(
                e["text"] for b in reply["blocks"] if b["type"] == "context" for e in b["elements"]
            )
            assert case.note is None or case.note in notes, notes
        # ...and the bot keeps serving.
        after = await h.ask("still there?", files=[upload(fake_slack, GOOD, 99)])
        [answer] = await h.replies(after)
    assert findings(answer).endswith("1 image(s) reviewed.")
