"""Fair slots (issue 18): round robin by person, limits in flight, busy only for a long wait."""

from __future__ import annotations

from tests.e2e.harness import Harness, asked, running_bot, wait_until
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack


def busy_notices(h: Harness, roots: list[str]) -> list[dict[str, object]]:
    return [
        r
        for root in roots
        for r in h.bot_replies(root)
        if r["metadata"]["event_payload"].get("kind") == "busy"
    ]


def asked_order(backend: FakeBackend) -> list[str]:
    return [asked(r.messages[-1]) for r in backend.requests]


async def test_one_persons_backlog_does_not_delay_a_bystander(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    for _ in range(7):
        backend.then(Step(delay_s=0.3))
    env = {"MEDGEMMA_MAX_PENDING": "2"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        roots = [await h.ask(f"case {n}", user="U1") for n in range(6)]
        roots.append(await h.ask("my one case", user="U2"))
        await wait_until(lambda: len(backend.requests) == 7, timeout_s=20)
        await h.settle()
    assert busy_notices(h, roots) == []
    # Two slots: U1's first two, then one of U1's and U2's, before the rest of U1's.
    assert asked_order(backend).index("my one case") == 3


async def test_a_person_over_their_limit_is_told_so_and_others_are_answered(
    fake_slack: FakeSlack, prompts, transport: str
) -> None:
    backend = FakeBackend().then(Step(delay_s=0.5)).then(Step(delay_s=0.5))
    env = {"MEDGEMMA_MAX_PENDING": "1", "MEDGEMMA_MAX_PER_PERSON": "2"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        mine = [await h.ask(f"case {n}", user="U1") for n in range(3)]
        theirs = await h.ask("my case", user="U2")
        [refused] = await h.replies(mine[2])
        await h.replies(theirs)
        await h.replies(mine[1])
    assert refused["metadata"]["event_payload"]["kind"] == "busy"
    assert prompts.text("errors", "busy_person", count=2) in refused["text"]
    assert sorted(asked_order(backend)) == ["case 0", "case 1", "my case"]


async def test_a_burst_the_bot_can_clear_waits_in_line_and_is_answered(
    fake_slack: FakeSlack, prompts, transport: str
) -> None:
    backend = FakeBackend()
    for _ in range(30):
        backend.then(Step(delay_s=0.05))
    env = {"MEDGEMMA_MAX_PENDING": "3"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        roots = [await h.ask(f"case {n}", user=f"U{n % 10}") for n in range(30)]
        await wait_until(lambda: len(backend.requests) == 30, timeout_s=30)
        await h.settle()
    assert busy_notices(h, roots) == []
    answered = [r for root in roots for r in h.bot_replies(root)]
    assert len(answered) == 30
    assert all(r["metadata"]["event_type"] == "medgemma_answer" for r in answered)
    waiting = {prompts.text("status", "next"), prompts.text("status", "waiting_one")}
    assert waiting & {c["status"] for c in fake_slack.status_calls}  # its place was shown


async def test_busy_only_when_the_expected_wait_is_long(
    fake_slack: FakeSlack, transport: str
) -> None:
    backend = FakeBackend()
    for _ in range(4):
        backend.then(Step(delay_s=1.0))
    env = {"MEDGEMMA_MAX_PENDING": "1", "MEDGEMMA_BUSY_WAIT_S": "1.5"}
    async with running_bot(fake_slack, backend, transport=transport, **env) as h:
        first = await h.ask("one", user="U1")
        await h.replies(first)  # answers now take about a second a slot
        running = await h.ask("two", user="U2")
        await wait_until(lambda: len(backend.requests) == 2)
        waits = await h.ask("three", user="U3")  # about a second: waits in line
        too_long = await h.ask("four", user="U4")  # about two: busy
        [busy] = await h.replies(too_long)
        [answer] = await h.replies(waits)
        await h.replies(running)
    assert busy["metadata"]["event_payload"]["kind"] == "busy"
    assert answer["metadata"]["event_type"] == "medgemma_answer"
    assert asked_order(backend) == ["one", "two", "three"]
