"""Direct messages the way people use them on a phone: image first, question next."""

from __future__ import annotations

import asyncio

from tests.e2e.harness import Harness, asked, findings, png_bytes, running_bot, wait_until
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack

DM = "D1"


def image(fake: FakeSlack, colour: tuple[int, int, int] = (120, 30, 200)) -> dict[str, object]:
    return fake.add_file(
        png_bytes(colour=colour), name="cxr.png", mimetype="image/png", filetype="png"
    )


async def dm(h: Harness, text: str = "", **kwargs: object) -> str:
    return await h.ask(text, channel=DM, channel_type="im", **kwargs)  # type: ignore[arg-type]


async def test_image_then_question_is_one_question(fake_slack: FakeSlack, transport: str) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport, MEDGEMMA_DM_WAIT_S="5") as h:
        picture = await dm(h, files=[image(fake_slack)])
        question = await dm(h, "is there a pneumothorax?")
        [answer] = await h.replies(question, channel=DM)
        await h.settle()
        assert h.bot_replies(picture, channel=DM) == []  # not answered on its own
    [request] = backend.requests
    assert len(request.messages[-1].images) == 1
    assert asked(request.messages[-1]) == "is there a pneumothorax?"
    assert findings(answer).endswith("1 image(s) reviewed.")


async def test_an_image_alone_is_answered_after_the_wait(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport, MEDGEMMA_DM_WAIT_S="0.3") as h:
        picture = await dm(h, files=[image(fake_slack)])
        [answer] = await h.replies(picture, channel=DM)
    [request] = backend.requests
    assert asked(request.messages[-1]) == "Describe the findings."
    assert len(request.messages[-1].images) == 1
    assert answer["thread_ts"] == picture


async def test_a_later_question_is_about_the_last_image(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport, MEDGEMMA_DM_WAIT_S="0.2") as h:
        picture = await dm(h, files=[image(fake_slack)])
        [first] = await h.replies(picture, channel=DM)
        question = await dm(h, "and the heart size?")
        await h.replies(question, channel=DM)
    follow_up = backend.requests[1].messages
    assert [m.role for m in follow_up] == ["user", "assistant", "user"]
    assert len(follow_up[0].images) == 1  # the image of the earlier message
    assert follow_up[1].text == findings(first)
    assert asked(follow_up[2]) == "and the heart size?"


async def test_new_case_and_old_images_start_afresh(fake_slack: FakeSlack, transport: str) -> None:
    backend = FakeBackend()
    env = {"MEDGEMMA_DM_WAIT_S": "0.2", "MEDGEMMA_DM_CASE_MINUTES": "0.02"}  # 1.2 s
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        picture = await dm(h, files=[image(fake_slack)])
        await h.replies(picture, channel=DM)
        fresh = await dm(h, "New case: what is the normal cardiothoracic ratio?")
        await h.replies(fresh, channel=DM)
        await asyncio.sleep(1.3)  # the case window (1.2 s here) passes
        later = await dm(h, "what does consolidation mean?")
        await h.replies(later, channel=DM)
    assert [len(r.messages) for r in backend.requests] == [1, 1, 1]  # the question alone
    assert all(not r.messages[-1].images for r in backend.requests[1:])


async def test_a_follow_up_in_the_questions_thread_keeps_the_image(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend, transport=transport, MEDGEMMA_DM_WAIT_S="5") as h:
        await dm(h, files=[image(fake_slack)])
        question = await dm(h, "what do you see?")
        await h.replies(question, channel=DM)
        await dm(h, "and the costophrenic angles?", thread_ts=question)
        await wait_until(lambda: len(backend.requests) == 2)
        await h.replies(question, count=2, channel=DM)
    follow_up = backend.requests[1].messages
    assert sum(len(m.images) for m in follow_up) == 1
    assert asked(follow_up[-1]) == "and the costophrenic angles?"
