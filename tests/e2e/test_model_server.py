"""The model server failing mid-answer: one clear message per question, then service."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.backends import create_backend
from tests.e2e.harness import findings, running_bot, settings_for
from tests.fakes.openai_server import FakeOpenAIServer, echo_answer
from tests.fakes.slack import FakeSlack

# (case id, how the server fails, words of the one message the asker gets)
FAULTS: list[tuple[str, Callable[[FakeOpenAIServer], None], str]] = [
    ("stream dropped midway", lambda s: s.drop(after_chunks=2), "model failed"),
    ("malformed server-sent event", lambda s: s.malformed(after_chunks=1), "model failed"),
    ("error event mid-stream", lambda s: s.stream_error(after_chunks=1), "model failed"),
    (
        "429 twice (the SDK's retry included)",
        lambda s: [s.fail(429, error_type="rate_limit", retry_after_ms=10) for _ in range(2)],
        "busy with other questions",
    ),
    ("500 twice", lambda s: [s.fail(500, retry_after_ms=10) for _ in range(2)], "model failed"),
    ("stall before the reply, twice", lambda s: [s.hang(), s.hang()], "took too long"),
]


@pytest.mark.parametrize(("name", "fault", "says"), FAULTS, ids=[c[0] for c in FAULTS])
async def test_a_failing_server_gives_one_message_then_answers(
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
    name: str,
    fault: Callable[[FakeOpenAIServer], None],
    says: str,
) -> None:
    env = {
        "MEDGEMMA_BACKEND": "openai",
        "MEDGEMMA_BASE_URL": fake_openai.base_url,
        "MEDGEMMA_SERVER_TIMEOUT_S": "1",
    }
    backend = create_backend(settings_for(fake_slack, **env))
    async with running_bot(fake_slack, backend, **env) as h:
        fault(fake_openai)
        failed = await h.ask("first")
        [notice] = await h.replies(failed)
        ok = await h.ask("second")
        [answer] = await h.replies(ok)
    assert notice["metadata"]["event_type"] == "medgemma_notice"
    assert says in notice["text"] and "error id" in notice["text"]
    assert "Answer for" not in notice["text"]  # no half answer presented as findings
    assert findings(answer) == echo_answer("second")


async def test_an_answer_the_server_cut_at_max_tokens_says_so(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer
) -> None:
    env = {"MEDGEMMA_BACKEND": "openai", "MEDGEMMA_BASE_URL": fake_openai.base_url}
    backend = create_backend(settings_for(fake_slack, **env))
    async with running_bot(fake_slack, backend, **env) as h:
        fake_openai.reply("The lungs are clear and the", finish_reason="length")
        ts = await h.ask("describe")
        [answer] = await h.replies(ts)
    assert findings(answer) == "The lungs are clear and the"
    assert fake_openai.requests[0]["max_tokens"] == 1024
    notes = [b["elements"][0]["text"] for b in answer["blocks"] if b["block_id"] == "note-1"]
    assert notes == [
        ":memo: The answer stopped at the length limit (1024 tokens) before it was finished. "
        "Reply *continue* in this thread to get the rest."
    ]
