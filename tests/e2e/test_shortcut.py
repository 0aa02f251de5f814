"""The "Ask MedGemma" message shortcut: a modal for the question, the answer in the thread."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from bot.prompts import Prompts
from tests.e2e.harness import Harness, findings, png_bytes, running_bot, wait_until
from tests.fakes.backend import SAFETY_LINE, FakeBackend, Step, digest, question_of
from tests.fakes.slack import FakeSlack

QUESTION = "is there a pneumothorax?"


def shared(h: Harness, *, user: str = "U2", thread_ts: str | None = None) -> str:
    """Someone shares an image without mentioning the bot; the bot is not asked."""
    png = h.fake.add_file(png_bytes(), name="cxr.png", mimetype="image/png", filetype="png")
    [message] = h.fake.post_user_message(
        channel=h.channel, text="look at this", user=user, files=[png], thread_ts=thread_ts
    )
    return str(message["ts"])


async def open_modal(h: Harness, ts: str, *, user: str = "U1", **kwargs: Any) -> None:
    action = h.fake.interactive.message_action(
        channel=h.channel, ts=ts, callback_id="ask_medgemma", user=user, **kwargs
    )
    assert await h.interact(action) == {}
    await h.settle()


async def ask(h: Harness, ts: str, question: str = QUESTION, *, user: str = "U1") -> None:
    """The shortcut on message `ts`, and `question` typed into its modal."""
    await open_modal(h, ts, user=user)
    [modal] = h.fake.views.modals(user)
    assert (
        await h.interact(h.fake.interactive.submit(modal["id"], values={"question": question}))
        == {}
    )
    h.fake.views.close(modal["id"])  # Slack closes a modal its app acknowledged empty


async def test_shortcut_answers_in_the_messages_thread_with_its_images(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = shared(h)
        await ask(h, ts)
        shown, answer = await h.replies(ts, count=2)
        # The thread is joined: a follow-up there is answered, with the image kept.
        await h.ask("and the heart size?", thread_ts=ts, mention=False)
        _, _, second = await h.replies(ts, count=3)
    # The question was typed in a modal: the bot shows it, quoted, above the answer.
    assert shown["metadata"] == {"event_type": "medgemma_question", "event_payload": {"user": "U1"}}
    assert shown["blocks"][0]["elements"][0]["text"] == "<@U1> asked with *Ask MedGemma*:"

    assert shown["blocks"][1]["text"] == f"> {QUESTION}"
    assert QUESTION in shown["text"] and "<@U1>" in shown["text"]
    [opened] = fake_slack.calls_to("views.open")
    assert json.loads(opened["view"]["private_metadata"]) == {"c": "C1", "m": ts, "t": ts}
    assert answer["thread_ts"] == ts
    asked = backend.requests[0].messages[-1].text
    # Two people: the image and its text are Person 1's, the question Person 2's (after
    # the bot's safety line, which MedGemma 1.5's default gets before the newest words).
    assert asked == f"Person 1: look at this\n\n{SAFETY_LINE}Person 2: {QUESTION}"
    assert findings(answer) == f"Findings for {digest(asked)}: 1 image(s) reviewed."
    assert sum(len(m.images) for m in backend.requests[0].messages) == 1
    # The follow-up sees the shown question as the asker's turn, the answer as the model's.
    turns = [(m.role, m.text) for m in backend.requests[1].messages]
    earlier = f"Person 1: look at this\n\nPerson 2: {QUESTION}"
    assert turns[:-1] == [("user", earlier), ("assistant", findings(answer))]
    again = question_of(backend.requests[1].messages[-1].text)
    assert again == "Person 2: and the heart size?"
    assert findings(second) == f"Findings for {digest(again)}: 1 image(s) reviewed."


async def test_shortcut_on_a_reply_answers_in_its_thread(
    fake_slack: FakeSlack, transport: str
) -> None:
    async with running_bot(fake_slack, FakeBackend(), transport=transport) as h:
        [root] = fake_slack.post_user_message(channel="C1", text="a case for the group", user="U2")
        reply = shared(h, user="U3", thread_ts=str(root["ts"]))
        await ask(h, reply)
        _, answer = await h.replies(str(root["ts"]), count=2)
    assert answer["thread_ts"] == root["ts"]
    assert "1 image(s) reviewed" in findings(answer)


async def test_a_message_without_images_gets_a_private_hint(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    async with running_bot(fake_slack, FakeBackend(), transport=transport) as h:
        [plain] = fake_slack.post_user_message(channel="C1", text="no image here", user="U2")
        await open_modal(h, str(plain["ts"]))
    assert fake_slack.calls_to("views.open") == []
    [hint] = fake_slack.ephemerals
    assert (hint["user"], hint["channel"]) == ("U1", "C1")
    assert hint["text"] == prompts.text("shortcut", "no_images")


async def test_an_expired_trigger_asks_to_try_again(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    # The hint names the shortcut as the manifest does: "Ask <name>" fits 24 characters
    # only for short names.
    env = {"MEDGEMMA_APP_NAME": "Radiology Teaching Bot"}
    async with running_bot(fake_slack, FakeBackend(), transport=transport, **env) as h:
        ts = shared(h)
        await open_modal(h, ts, trigger_age_s=3.5)  # Slack delivered it late
    [tried] = fake_slack.calls_to("views.open")
    assert tried["trigger_id"]
    assert fake_slack.views.modals() == []
    [hint] = fake_slack.ephemerals
    assert hint["user"] == "U1" and "*Ask about images*" in hint["text"]
    assert hint["text"] == prompts.text("shortcut", "expired", shortcut="Ask about images")


async def test_someone_not_allowed_is_refused_before_the_modal(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    backend = FakeBackend()
    env = {"MEDGEMMA_ALLOWED_USERS": "U9", "MEDGEMMA_ADMIN_CONTACT": "<@U9>"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        ts = shared(h)
        await open_modal(h, ts)
    assert fake_slack.calls_to("views.open") == []
    [refused] = fake_slack.ephemerals
    assert refused["user"] == "U1"
    assert refused["text"] == prompts.text("access", "user", contact="<@U9>")
    assert backend.requests == []


async def test_a_submission_is_answered_once_and_a_deleted_message_not_at_all(
    fake_slack: FakeSlack, prompts: Prompts, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = shared(h)
        await open_modal(h, ts)
        [modal] = fake_slack.views.modals("U1")
        submission = fake_slack.interactive.submit(modal["id"], values={"question": QUESTION})
        await h.interact(submission)
        await h.interact(submission)  # delivered twice
        await h.replies(ts, count=2)
        gone = shared(h)
        await open_modal(h, gone)
        [_, second] = fake_slack.views.modals("U1")
        fake_slack.store.remove("C1", gone)  # deleted while the question was typed
        await h.interact(fake_slack.interactive.submit(second["id"], values={"question": "and?"}))
        await h.settle()
    assert len(h.bot_replies(ts)) == 2 and len(backend.requests) == 1  # question, answer
    [hint] = fake_slack.ephemerals
    assert hint["text"] == prompts.text("shortcut", "no_images")


async def test_a_shortcut_question_left_by_a_crash_is_asked_again(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """Its text was typed in a modal and the state keeps ids only: the asker is asked again."""
    state = tmp_path / "state.json"
    hanging = FakeBackend().then(Step(hang=True))
    env = {"MEDGEMMA_STATE_FILE": str(state), "MEDGEMMA_DRAIN_S": "0"}
    async with running_bot(fake_slack, hanging, **env) as h:
        ts = shared(h)
        await ask(h, ts)
        await wait_until(lambda: len(hanging.requests) == 1)
        left = await asyncio.to_thread(state.read_text)  # the process is killed here
    [record] = json.loads(left)["questions"]
    assert record["kind"] == "shortcut" and record["ts"] == ts
    for posted in h.bot_replies(ts):  # a killed process posts nothing more
        fake_slack.store.remove("C1", posted["ts"])
    await asyncio.to_thread(state.write_text, left)
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, MEDGEMMA_STATE_FILE=str(state)) as h:
        [notice] = await h.replies(ts)
    assert backend.requests == []
    payload = {"kind": "restarting", "request_id": record["request_id"]}
    assert notice["metadata"]["event_payload"] == payload


async def test_the_modal_is_acknowledged_before_the_model_answers(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend().then(Step(delay_s=2.0))
    async with running_bot(fake_slack, backend, transport=transport) as h:
        ts = shared(h)
        await open_modal(h, ts)
        [modal] = fake_slack.views.modals("U1")
        fake_slack.delay("conversations.history", 2.0)  # and a slow Slack
        started = time.monotonic()
        await h.interact(fake_slack.interactive.submit(modal["id"], values={"question": QUESTION}))
        acknowledged_s = time.monotonic() - started
        await h.replies(ts)
    assert acknowledged_s < 1.0  # Slack shows an error after 3 seconds


async def test_a_shortcut_question_when_full_gets_the_busy_notice(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend().then(Step(hang=True))
    env = {"MEDGEMMA_MAX_PENDING": "1", "MEDGEMMA_BUSY_WAIT_S": "0", "MEDGEMMA_DRAIN_S": "0"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        await h.ask("a first question")
        await wait_until(lambda: len(backend.requests) == 1)
        ts = shared(h)
        # No settling: the first question never ends.
        await h.interact(
            fake_slack.interactive.message_action(channel="C1", ts=ts, callback_id="ask_medgemma")
        )
        await wait_until(lambda: len(fake_slack.views.modals("U1")) == 1)
        [modal] = fake_slack.views.modals("U1")
        await h.interact(fake_slack.interactive.submit(modal["id"], values={"question": QUESTION}))
        await wait_until(lambda: len(h.bot_replies(ts)) == 1)
        [busy] = h.bot_replies(ts)
    assert busy["metadata"]["event_payload"]["kind"] == "busy"
    assert len(backend.requests) == 1
