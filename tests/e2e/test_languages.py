"""Each asker is spoken to in their Slack language: statuses, answers' fixed texts, errors."""

from __future__ import annotations

import asyncio

from bot.errors import BackendUnavailable
from bot.prompts import load_prompts
from bot.settings import DEFAULT_PROMPTS
from tests.e2e.harness import png_bytes, running_bot
from tests.fakes.backend import FakeBackend, Step, question_of
from tests.fakes.slack import FakeSlack

PROMPTS = load_prompts(DEFAULT_PROMPTS)


async def test_a_spanish_speaker_gets_spanish_texts_around_the_answer(
    fake_slack: FakeSlack, transport: str
) -> None:
    fake_slack.web.add_user("U7", "lucia", locale="es-LA")
    backend = FakeBackend()
    png = fake_slack.add_file(png_bytes(), name="rx.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask("", files=[png], user="U7")  # an image alone
        [reply] = await h.replies(ts)
    disclaimer = PROMPTS.disclaimer_in("es")
    assert disclaimer != PROMPTS.disclaimer_in("en")
    assert reply["text"].endswith(disclaimer)
    [button] = next(b for b in reply["blocks"] if b.get("block_id") == "feedback")["elements"]
    assert button["positive_button"]["text"]["text"] == PROMPTS.text(
        "feedback", "helpful", language="es"
    )
    statuses = [c for c in fake_slack.status_calls if c["thread_ts"] == ts and c["status"]]
    assert statuses[0]["status"] == PROMPTS.text("status", "working", language="es")
    assert statuses[0]["loading_messages"] == PROMPTS.loading("es")
    # An image without words is asked about in the asker's language, so answered in it.
    [request] = backend.requests
    asked = PROMPTS.text("format", "default_question", language="es")
    assert question_of(request.messages[-1].text) == asked
    assert asked != PROMPTS.text("format", "default_question")


async def test_an_error_is_in_the_askers_language(fake_slack: FakeSlack) -> None:
    fake_slack.web.add_user("U8", "jun", locale="ja-JP")
    backend = FakeBackend().then(Step(error=BackendUnavailable("down")))
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask("所見は?", user="U8")
        [notice] = await h.replies(ts)
    request_id = notice["metadata"]["event_payload"]["request_id"]
    expected = PROMPTS.error_text(BackendUnavailable(), error_id=request_id, language="ja")
    assert expected != PROMPTS.error_text(BackendUnavailable(), error_id=request_id)
    assert notice["text"] == expected.replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;"
    )


async def test_a_fixed_language_wins_over_the_locale(fake_slack: FakeSlack) -> None:
    fake_slack.web.add_user("U7", "lucia", locale="es-LA")
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, MEDGEMMA_LANGUAGE="de") as h:
        ts = await h.ask("Befund?", user="U7")
        [reply] = await h.replies(ts)
    assert reply["text"].endswith(PROMPTS.disclaimer_in("de"))


async def test_an_unknown_locale_gets_english(fake_slack: FakeSlack) -> None:
    fake_slack.web.add_user("U9", "ana", locale="ko-KR")
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        ts = await h.ask("findings?", user="U9")
        [reply] = await h.replies(ts)
    assert reply["text"].endswith(PROMPTS.disclaimer_in("en"))


async def test_questions_arriving_together_read_their_askers_profile_once(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.web.add_user("U7", "lucia", locale="es-LA")
    async with running_bot(fake_slack, FakeBackend()) as h:
        asked = await asyncio.gather(*(h.ask(f"caso {n}", user="U7") for n in range(5)))
        for ts in asked:
            await h.replies(ts)
        await h.replies(await h.ask("¿y ahora?", user="U9"))  # nobody users.info knows
        await h.replies(await h.ask("¿y ahora?", user="U9"))
    looked_up = [c["user"] for c in fake_slack.calls_to("users.info")]
    assert sorted(looked_up) == ["U7", "U9"]
