"""The model server failing or refusing: one clear message per question, then service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.backends import create_backend
from bot.errors import BotError, ServerContextExceeded, ServerImageLimit
from bot.prompts import Prompts
from tests.e2e.harness import findings, png_bytes, running_bot, settings_for
from tests.fakes.openai_server import FakeOpenAIServer, echo_answer
from tests.fakes.slack import FakeSlack
from tests.fakes.vllm import context_refusal, image_refusal, prompt_counts

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


def openai_env(server: FakeOpenAIServer) -> dict[str, str]:
    """The bot pointed at the fake model server."""
    return {"MEDGEMMA_BACKEND": "openai", "MEDGEMMA_BASE_URL": server.base_url}


def pngs(fake_slack: FakeSlack, count: int) -> list[dict[str, Any]]:
    """`count` different small PNGs shared in Slack."""
    return [
        fake_slack.add_file(
            png_bytes(colour=(40 * i, 90, 200)),
            name=f"{i}.png",
            mimetype="image/png",
            filetype="png",
        )
        for i in range(count)
    ]


def image_count(body: dict[str, Any]) -> int:
    """Images in a chat request the bot sent."""
    return prompt_counts(body)[1]


def notes(reply: dict[str, Any]) -> str:
    """An answer's notes: the text of its context blocks."""
    blocks = [b for b in reply.get("blocks") or [] if b["type"] == "context"]
    return " ".join(e["text"] for b in blocks for e in b["elements"])


def questions(server: FakeOpenAIServer) -> list[dict[str, Any]]:
    """The chat requests that asked questions: the image probe asks for one token."""
    return [body for body in server.requests if body["max_tokens"] > 1]


def reads(notice: dict[str, Any], prompts: Prompts, error: BotError) -> None:
    """The notice is `error`'s own message, with an error id, and no "try again"."""
    assert notice["metadata"]["event_type"] == "medgemma_notice"
    assert prompts.error_message(error) in notice["text"]
    assert "error id" in notice["text"]
    assert "try again" not in notice["text"].lower()


# (case id, vLLM 0.32's refusal as it sends it, the error whose message the asker reads)
REFUSALS: list[tuple[str, str, str, BotError]] = [
    ("over --max-model-len", "input_tokens", context_refusal(8192, 9001), ServerContextExceeded()),
    ("over --limit-mm-per-prompt", "image", image_refusal(4), ServerImageLimit()),
]


@pytest.mark.parametrize(
    ("name", "param", "message", "error"), REFUSALS, ids=[c[0] for c in REFUSALS]
)
async def test_a_refusal_reads_as_what_it_is_once(
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
    prompts: Prompts,
    name: str,
    param: str,
    message: str,
    error: BotError,
) -> None:
    env = openai_env(fake_openai)
    backend = create_backend(settings_for(fake_slack, **env))
    async with running_bot(fake_slack, backend, **env) as h:
        fake_openai.fail(400, error_type="BadRequestError", code=400, param=param, message=message)
        refused = await h.ask("first")
        [notice] = await h.replies(refused)
        asked = len(fake_openai.requests)
        ok = await h.ask("second")
        [answer] = await h.replies(ok)
    assert asked == 1  # the refusal was not retried
    reads(notice, prompts, error)
    assert findings(answer) == echo_answer("second")


async def test_a_smaller_context_after_a_restart_is_read_and_the_thread_trimmed(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, prompts: Prompts
) -> None:
    fake_openai.max_model_len, fake_openai.tokenizer = 32768, True
    env = openai_env(fake_openai)
    report = "Findings: no focal consolidation, effusion or pneumothorax. " * 50  # 3,000 B
    backend = create_backend(settings_for(fake_slack, **env))
    async with running_bot(fake_slack, backend, **env) as h:
        root = await h.ask(f"{report}\nIs this report consistent with the film?")
        await h.replies(root)
        # vLLM restarted, unseen, with a context the first exchange alone just fits.
        smaller = prompt_counts(questions(fake_openai)[0])[0]
        fake_openai.max_model_len = smaller
        await h.ask("and the heart?", thread_ts=root, mention=False)
        _, notice = await h.replies(root, count=2)
        await h.ask("and the heart, then?", thread_ts=root, mention=False)
        thread = await h.replies(root, count=3)
    reads(notice, prompts, ServerContextExceeded())
    answer = thread[2]
    assert answer["metadata"]["event_type"] == "medgemma_answer"
    assert "left out to fit the model's context" in notes(answer)  # the report turn went
    assert [prompt_counts(body)[0] > smaller for body in questions(fake_openai)] == [
        False,  # the report
        True,  # the follow-up, planned for 32,768 and refused
        False,  # asked again: planned within the smaller context
    ]


async def test_a_lower_image_limit_after_a_restart_is_learnt_from_the_refusal(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, prompts: Prompts
) -> None:
    env = openai_env(fake_openai)
    backend = create_backend(settings_for(fake_slack, **env))
    async with running_bot(fake_slack, backend, **env) as h:
        fake_openai.image_limit = 2  # vLLM restarted with --limit-mm-per-prompt 2, unseen
        root = await h.ask("what do you see in these?", files=pngs(fake_slack, 3))
        [notice] = await h.replies(root)
        await h.ask("what do you see, then?", thread_ts=root, mention=False)
        _, answer = await h.replies(root, count=2)
    reads(notice, prompts, ServerImageLimit())
    assert fake_openai.refusals == ["image"]
    assert answer["metadata"]["event_type"] == "medgemma_answer"
    assert image_count(fake_openai.requests[-1]) == 2


async def test_the_image_limit_is_learnt_at_start_up(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.max_model_len, fake_openai.image_limit = 32768, 2  # as vLLM is started
    env = openai_env(fake_openai)
    backend = create_backend(settings_for(fake_slack, **env))
    async with running_bot(fake_slack, backend, **env) as h:
        root = await h.ask("what do you see in these?", files=pngs(fake_slack, 3))
        [answer] = await h.replies(root)
    assert fake_openai.refusals == ["image"]  # the start-up probe's, and no question's
    assert answer["metadata"]["event_type"] == "medgemma_answer"
    assert "Only the first 2 of 3 images" in notes(answer)
    assert image_count(fake_openai.requests[-1]) == 2
