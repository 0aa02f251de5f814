"""Slack's agent experience, end to end against the fake Slack, in both transports:
help as help, the welcome and suggested prompts, honest progress, the Stop button,
follow-ups and titles in the DM, and a Home tab to act from."""

from __future__ import annotations

from typing import Any

import pytest

from bot.prompts import Prompts
from bot.slack.question import progress, streaming
from bot.slack.surfaces.stop import STOP_ACTION
from tests.e2e.harness import png_bytes, running_bot, wait_until
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack

WORDS = [f"word{n} " for n in range(40)]


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streaming, "FLUSH_S", 0.05)
    monkeypatch.setattr(progress, "STOP_AFTER_S", 0.05)


def kind(message: dict[str, Any]) -> str:
    return str((message.get("metadata") or {}).get("event_payload", {}).get("kind", ""))


# --- 5. help as help ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "said", "language"),
    [
        ("en-US", "", "en"),
        ("en-US", "Help!", "en"),
        ("fr-FR", "aide", "fr"),
        ("ja-JP", "ヘルプ", "ja"),
    ],
)
async def test_a_bare_mention_or_help_gets_the_how_to_without_a_warning(
    fake_slack: FakeSlack,
    prompts: Prompts,
    transport: str,
    locale: str,
    said: str,
    language: str,
) -> None:
    fake_slack.web.add_user("U1", "ana", locale=locale)
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = await h.ask(said)
        [reply] = await h.replies(ts)
    assert backend.requests == []  # nothing was asked of the model
    assert kind(reply) == "help"
    assert prompts.text("help", "intro", language=language) in reply["text"]
    assert "*@MedGemma " in reply["text"] and "*Ask MedGemma*" in reply["text"]
    assert ":warning:" not in reply["text"] and "error id" not in reply["text"]
    assert "request_id" not in reply["metadata"]["event_payload"]
    assert fake_slack.status_calls == []  # no "looking at the images" for help


async def test_a_bare_mention_in_a_thread_without_images_gets_the_how_to_too(
    fake_slack: FakeSlack, prompts: Prompts
) -> None:
    async with running_bot(fake_slack, FakeBackend()) as h:
        ts = await h.ask("what is a pneumothorax?")
        await h.replies(ts)
        await h.ask("", thread_ts=ts)
        [_, reply] = await h.replies(ts, count=2)
    assert kind(reply) == "help"
    assert reply["text"].startswith(prompts.text("help", "intro"))
    assert ":warning:" not in reply["text"]


async def test_help_names_the_app_as_its_manifest_does(fake_slack: FakeSlack) -> None:
    env = {"MEDGEMMA_APP_NAME": "Radiology Teaching Bot"}
    async with running_bot(fake_slack, FakeBackend(), **env) as h:
        ts = await h.ask("help")
        [reply] = await h.replies(ts)
    assert "*@Radiology Teaching Bot " in reply["text"]
    assert "*Ask about images*" in reply["text"]  # the shortcut's name Slack accepts


# --- 2. the welcome and suggested prompts ---------------------------------------------------


async def test_the_messages_tab_welcomes_once_and_suggests_prompts_in_their_language(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    fake_slack.web.add_user("U7", "lucia", locale="es-LA")
    async with running_bot(fake_slack, FakeBackend(), transport=transport) as h:
        for _ in range(2):
            await h.deliver([fake_slack.interactive.home_opened(user="U7", tab="messages")])
            await h.settle()
    welcomes = [m for m in fake_slack.messages_in("D7") if m.get("bot_id")]
    [welcome] = welcomes  # once per person
    assert welcome["text"] == prompts.text("welcome", "text", language="es", name="MedGemma")
    assert kind(welcome) == "welcome"
    first = fake_slack.assistant.suggested[0]
    assert (first.channel, first.thread_ts) == ("D7", "")  # the agent's whole Messages tab
    assert first.title == prompts.text("suggest", "title", language="es")
    assert [p["title"] for p in first.prompts] == [
        prompts.text("suggest", f"{key}_title", language="es")
        for key in ("describe", "student", "ct", "prior")
    ]
    assert fake_slack.assistant.ignored_prompts == []


async def test_someone_who_may_not_ask_in_dms_is_told_once_and_offered_no_prompts(
    fake_slack: FakeSlack, prompts: Prompts
) -> None:
    async with running_bot(fake_slack, FakeBackend(), MEDGEMMA_ALLOW_DMS="false") as h:
        for _ in range(2):
            await h.deliver([fake_slack.interactive.home_opened(user="U1", tab="messages")])
            await h.settle()
    [note] = fake_slack.ephemerals
    assert note["user"] == "U1" and note["channel"] == "D1"
    assert fake_slack.assistant.suggested == []
    assert [m for m in fake_slack.messages_in("D1") if m.get("bot_id")] == []


async def test_the_legacy_assistant_view_suggests_on_its_new_thread(fake_slack: FakeSlack) -> None:
    fake_slack.assistant.view = "assistant"
    async with running_bot(fake_slack, FakeBackend(), MEDGEMMA_SLACK_VIEW="assistant") as h:
        started = fake_slack.interactive.assistant_thread_started(user="U1")
        await h.deliver([started])
        await h.settle()
    thread_ts = started["assistant_thread"]["thread_ts"]
    [suggested] = fake_slack.assistant.suggested
    assert (suggested.channel, suggested.thread_ts) == ("D1", thread_ts)
    assert len(suggested.prompts) == 4
    [welcome] = [m for m in fake_slack.thread("D1", thread_ts) if m.get("bot_id")]
    assert kind(welcome) == "welcome"


# --- 4. honest progress ---------------------------------------------------------------------


async def test_a_waiting_question_shows_its_place_verbatim_and_a_text_question_no_images(
    fake_slack: FakeSlack, prompts: Prompts
) -> None:
    backend = FakeBackend().then(Step(delay_s=0.5)).then(Step())
    png = fake_slack.add_file(png_bytes(), name="cxr.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, backend, MEDGEMMA_MAX_PENDING="1") as h:
        first = await h.ask("what is a pneumothorax?")
        await wait_until(lambda: len(backend.requests) == 1)
        second = await h.ask("describe", files=[png], user="U2")
        await h.replies(second)
        await h.replies(first)
    [working, *_] = [c for c in fake_slack.status_calls if c["thread_ts"] == first]
    # Nothing to look at: it reads the question, and its loading messages say so.
    assert working["status"] == prompts.text("status", "working_text")
    assert working["loading_messages"] == prompts.texts("status", "loading_text")
    # Waiting: the place in line as the status itself, no rotating messages over it.
    [waiting, *_] = [c for c in fake_slack.status_calls if c["thread_ts"] == second]
    assert waiting["status"] == prompts.text("status", "next")
    assert waiting["loading_messages"] is None


# --- 6. the Stop button ---------------------------------------------------------------------


def stop_message(h: Any, ts: str) -> dict[str, Any]:
    [message] = [m for m in h.bot_replies(ts) if kind(m) == "progress"]
    return message


async def test_the_asker_stops_a_streaming_answer_and_others_are_told_privately(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    fake_slack.add_user("U1", "ana")
    fake_slack.add_user("U2", "ben")
    backend = FakeBackend().then(Step(chunks=WORDS, chunk_delay_s=0.02, hang_after=10))
    env = {"MEDGEMMA_STREAMING": "on"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        ts = await h.ask("what do you see?")
        await wait_until(lambda: bool(fake_slack.calls_to("chat.startStream")))
        await wait_until(lambda: any(kind(m) == "progress" for m in h.bot_replies(ts)))
        button = stop_message(h, ts)
        assert button["blocks"][-1]["elements"][0]["action_id"] == STOP_ACTION
        await h.interact(
            fake_slack.interactive.click(
                channel="C1", ts=button["ts"], action_id=STOP_ACTION, user="U2"
            )
        )
        await wait_until(lambda: len(fake_slack.ephemerals) == 1)
        assert backend.cancelled == 0
        await h.interact(
            fake_slack.interactive.click(channel="C1", ts=button["ts"], action_id=STOP_ACTION)
        )
        await h.settle()
        [reply] = h.bot_replies(ts)  # the progress message is gone
    [note] = fake_slack.ephemerals
    assert note["user"] == "U2" and note["text"] == prompts.text("stop", "not_yours")
    stopped = prompts.text("stream", "stopped")
    assert reply["text"].endswith(f"{stopped}\n\n{prompts.disclaimer}")
    assert reply["text"].count(stopped) == 1
    assert backend.cancelled == 1
    [stream] = fake_slack.streams.values()
    assert not stream.open


async def test_a_workspace_admin_may_stop_an_answer_being_worked_on(
    fake_slack: FakeSlack, prompts: Prompts
) -> None:
    fake_slack.web.add_user("U9", "admin", is_admin=True)
    backend = FakeBackend().then(Step(hang=True))
    async with running_bot(fake_slack, backend, MEDGEMMA_DRAIN_S="0") as h:
        ts = await h.ask("what do you see?")
        await wait_until(lambda: any(kind(m) == "progress" for m in h.bot_replies(ts)))
        button = stop_message(h, ts)
        await h.interact(
            fake_slack.interactive.click(
                channel="C1", ts=button["ts"], action_id=STOP_ACTION, user="U9"
            )
        )
        await h.settle()
        [reply] = h.bot_replies(ts)
    assert kind(reply) == "stopped"
    assert reply["text"] == prompts.text("stop", "stopped")
    assert backend.cancelled == 1
    assert fake_slack.ephemerals == []


# --- 3. follow-ups and a title in the DM ----------------------------------------------------


async def test_a_dm_answer_offers_follow_ups_and_names_its_thread(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    png = fake_slack.add_file(png_bytes(), name="cxr.png", mimetype="image/png", filetype="png")
    async with running_bot(fake_slack, FakeBackend(), transport=transport) as h:
        ts = await h.ask(
            "is there a pneumothorax on this film?", files=[png], channel="D1", channel_type="im"
        )
        await h.replies(ts, channel="D1")
        await wait_until(lambda: bool(fake_slack.assistant.suggested))
    [suggested] = fake_slack.assistant.suggested
    assert suggested.title == prompts.text("suggest", "follow_up_title")
    assert [p["message"] for p in suggested.prompts] == [
        prompts.text("suggest", key) for key in ("student", "where", "prior")
    ]
    assert fake_slack.assistant.titles == {("D1", ts): "is there a pneumothorax on this film?"}


async def test_a_channel_answer_sets_no_prompts(fake_slack: FakeSlack) -> None:
    async with running_bot(fake_slack, FakeBackend()) as h:
        ts = await h.ask("what is a pneumothorax?")
        await h.replies(ts)
    assert fake_slack.assistant.suggested == [] and fake_slack.assistant.titles == {}
