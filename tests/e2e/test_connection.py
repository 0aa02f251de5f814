"""The Socket Mode connection dropping, idle or mid-answer, with a refused first reconnect."""

from __future__ import annotations

from tests.e2e.harness import findings, running_bot, wait_until
from tests.fakes.backend import FakeBackend, Step, digest
from tests.fakes.slack import FakeSlack

RECONNECT_S = 30.0


async def test_a_dropped_idle_connection_comes_back(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    async with running_bot(fake_slack, backend) as h:
        before = fake_slack.socket.connect_count
        fake_slack.socket.refuse_next = 1  # the first reconnect is turned away
        fake_slack.socket.drop_all()
        await wait_until(lambda: fake_slack.socket.connect_count > before, timeout_s=RECONNECT_S)
        await fake_slack.wait_connected()
        ts = await h.ask("are you back?")
        [reply] = await h.replies(ts)
    assert findings(reply).startswith(f"Findings for {digest('are you back?')}")


async def test_an_answer_in_flight_is_posted_once_after_a_drop(fake_slack: FakeSlack) -> None:
    backend = FakeBackend().then(Step(delay_s=1.0))
    async with running_bot(fake_slack, backend) as h:
        before = fake_slack.socket.connect_count
        ts = await h.ask("long one")
        await wait_until(lambda: bool(backend.requests))
        fake_slack.socket.refuse_next = 1
        fake_slack.socket.drop_all()
        [reply] = await h.replies(ts)  # the Web API still works: the answer arrives
        await wait_until(lambda: fake_slack.socket.connect_count > before, timeout_s=RECONNECT_S)
        await fake_slack.wait_connected()
        later = await h.ask("and after?")
        [after] = await h.replies(later)
        assert len(h.bot_replies(ts)) == 1
    assert findings(reply).startswith(f"Findings for {digest('long one')}")
    assert findings(after).startswith(f"Findings for {digest('and after?')}")
