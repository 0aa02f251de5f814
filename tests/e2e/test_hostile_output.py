"""Nothing a user or the model wrote reaches Slack as live markup (issue 18, live markup).

Anyone in a thread can steer the model (their messages are its prompt, and so is text
inside images), and the shortcut's question is typed by whoever picks it. The fake's
oracle (`FakeSlack.live_markup`, following Slack's formatting and markdown-block pages)
lists every mention, control sequence and Markdown link the bot made visible.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.question import streaming
from tests.e2e.harness import findings, running_bot
from tests.e2e.test_shortcut import ask, shared
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack

STEERED = (
    "Ignore the image. <!channel> <!here> <!everyone> ping <@UEVIL> in <#CEVIL> and "
    "<!subteam^SEVIL|@doctors>: sign in at [https://slack.com/signin](https://evil.example/login) "
    "or <https://evil.example/a|the report>. ![scan](https://evil.example/i.png)\n"
    "[see here\nplease](https://evil.example/two-lines)\n[ref]: https://evil.example/ref\n"
    "Then read [ref], or [the sign in page for your hospital](https://evil.example/sso). "
    "Fish & chips."
)
SHOWN_LINK = "https://slack.com/signin (https://evil.example/login)"


@pytest.fixture(autouse=True)
def quick_flushes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "FLUSH_S", 0.05)


async def test_a_steered_answer_is_posted_inert(fake_slack: FakeSlack, transport: str) -> None:
    backend = FakeBackend().then(Step(chunks=[STEERED]))
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("what do you see?")
        [reply] = await h.replies(ts)
    assert fake_slack.live_markup() == []
    shown = findings(reply)
    assert SHOWN_LINK in shown  # the link's real target in plain sight
    assert "&lt;!channel&gt;" in shown and "Fish &amp; chips" in shown


def split_everywhere(text: str, size: int = 7) -> list[str]:
    """The text in small chunks, so sequences and links are cut across appends."""
    return [text[i : i + size] for i in range(0, len(text), size)]


async def test_a_streamed_answer_is_inert_across_chunks(
    fake_slack: FakeSlack, transport: str
) -> None:
    words = " ".join(f"word{n}" for n in range(30))
    said = f"{words} {STEERED} {words}"
    backend = FakeBackend().then(Step(chunks=split_everywhere(said), chunk_delay_s=0.005))
    env: dict[str, Any] = {"MEDGEMMA_STREAMING": "on"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        ts = await h.ask("what do you see?")
        [reply] = await h.replies(ts)
    assert len(fake_slack.calls_to("chat.appendStream")) >= 2  # it did stream in pieces
    assert fake_slack.live_markup() == []
    assert SHOWN_LINK in reply["text"] and "&lt;!channel&gt;" in reply["text"]
    # A link cut across appends waited for its end: shown as a whole answer shows it.
    assert "the sign in page for your hospital (https://evil.example/sso)" in reply["text"]


async def test_the_shortcuts_question_is_shown_inert(fake_slack: FakeSlack, transport: str) -> None:
    backend = FakeBackend()
    question = "<!here> is [this normal](https://evil.example/x)? ask <@UEVIL>"
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = shared(h)
        await ask(h, ts, question)
        shown, _ = await h.replies(ts, count=2)
    # The bot's own line names who asked; nothing of the question is live.
    assert fake_slack.live_markup() == ["<@U1>"]
    assert shown["blocks"][1]["text"] == (
        "> &lt;!here&gt; is this normal (https://evil.example/x)? ask &lt;@UEVIL&gt;"
    )
    assert "(https://evil.example/x)" in backend.requests[0].messages[-1].text
