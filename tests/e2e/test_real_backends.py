"""The same Slack path with the real backends: an OpenAI-compatible server and the
in-process transformers backend on a tiny random Gemma 3."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from bot.backends import create_backend
from tests.e2e.harness import findings, png_bytes, running_bot, settings_for
from tests.fakes.openai_server import FakeOpenAIServer, echo_answer
from tests.fakes.slack import FakeSlack


async def test_openai_backend_through_slack(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer
) -> None:
    env = {
        "MEDGEMMA_BACKEND": "openai",
        "MEDGEMMA_BASE_URL": fake_openai.base_url,
        "MEDGEMMA_MODEL": "google/medgemma-4b-it",
    }
    backend = create_backend(settings_for(fake_slack, **env))
    png = fake_slack.add_file(
        png_bytes((40, 20)), name="a.png", mimetype="image/png", filetype="png"
    )
    async with running_bot(fake_slack, backend, **env) as h:
        root = await h.ask("what do you see?", files=[png])
        await h.replies(root)
        await h.ask("anything else?", thread_ts=root, mention=False)
        first, second = await h.replies(root, count=2)
    assert findings(first) == echo_answer("what do you see?")
    assert findings(second) == echo_answer("anything else?")
    body = fake_openai.requests[1]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["temperature"] == 0 and body["stream"] is True
    image_part = body["messages"][1]["content"][0]
    data = base64.b64decode(image_part["image_url"]["url"].split(",", 1)[1])
    assert Image.open(io.BytesIO(data)).size == (40, 40)  # padded to a square
    assert body["messages"][2]["content"] == findings(first)


@pytest.mark.parametrize("engine", ["scheduler", "generate"])
async def test_transformers_backend_through_slack(
    fake_slack: FakeSlack, tiny_model_dir: Path, engine: str
) -> None:
    env = {
        "MEDGEMMA_ENGINE": engine,  # the engine, or generate() with a static cache
        "MEDGEMMA_MODEL": str(tiny_model_dir),
        "MEDGEMMA_DEVICE": "cpu",
        "MEDGEMMA_MAX_NEW_TOKENS": "24",
        "MEDGEMMA_MAX_BATCH": "4",
        "MEDGEMMA_SLOT_TOKENS": "2560",
        "MEDGEMMA_CONTEXT_TOKENS": "4096",
    }
    backend = create_backend(settings_for(fake_slack, **env))
    png = fake_slack.add_file(png_bytes(), name="a.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, **env) as h:
        roots = [await h.ask(f"case {i}", files=[png]) for i in range(3)]
        replies = [await h.replies(ts) for ts in roots]
        follow = await h.ask("and now?", thread_ts=roots[0], mention=False)
        thread = await h.replies(roots[0], count=2)
    assert follow
    # The tiny random model answers deterministically (24 tokens of text): every question,
    # the follow-up too, gets a real answer; an error notice here is a failure.
    for reply in [*(r for [r] in replies), thread[1]]:
        assert reply["metadata"]["event_type"] == "medgemma_answer", reply["text"]
        assert findings(reply).strip() and not reply["text"].startswith(":warning:")
        assert reply["blocks"][1]["block_id"] == "disclaimer"  # after the findings
    assert len(thread) == 2
