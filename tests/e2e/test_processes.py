"""Real processes killed and stopped mid-answer: every question ends with exactly one reply.

The model server stalls (the fake OpenAI server's Hang), a bot process answering is
killed with SIGKILL or stopped with SIGTERM, and another process takes over: from the
state file at its start, or, with Redis, while it runs beside the killed one.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from pathlib import Path
from typing import Any

from tests.e2e.harness import wait_until
from tests.e2e.processes import BotProcess, bot_env
from tests.fakes.openai_server import FakeOpenAIServer, echo_answer
from tests.fakes.slack import FakeSlack, new_event_id

QUESTION = "what do you see?"
ANSWER_S = 60.0  # generous: processes start and recover on a loaded CI box
ACK_S = 20.0  # 600 envelopes at once on two loaded cores take seconds to acknowledge


async def ask(fake: FakeSlack, text: str = QUESTION) -> str:
    """A channel mention, delivered (to the newest connection) and acknowledged."""
    events = fake.post_user_message(channel="C1", text=f"<@{fake.bot_user_id}> {text}")
    for event in events:
        await fake.wait_acked(await fake.send_event(event))
    return str(events[0]["ts"])


def replies(fake: FakeSlack, ts: str, channel: str = "C1") -> list[dict[str, Any]]:
    return [m for m in fake.thread(channel, ts) if m.get("bot_id") == fake.bot_id]


def kinds(fake: FakeSlack, ts: str) -> list[str]:
    return [m["metadata"]["event_type"] for m in replies(fake, ts)]


async def test_sigkill_mid_answer_then_a_new_process_answers_once(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    fake_slack.web.rates.minute_s = 0.5  # two apps.connections.open (Tier 1) in seconds
    state = tmp_path / "state.json"
    env = bot_env(fake_slack, fake_openai, MEDGEMMA_STATE_FILE=str(state))
    fake_openai.hang()
    first = await BotProcess.start(env, folder=tmp_path, name="first")
    await first.ready()
    ts = await ask(fake_slack)
    await wait_until(lambda: len(fake_openai.requests) == 1, timeout_s=ANSWER_S)
    await first.kill()
    killed = time.monotonic()
    assert replies(fake_slack, ts) == []  # the user sees only the thread status so far
    second = await BotProcess.start(env, folder=tmp_path, name="second")
    await second.ready()
    await wait_until(lambda: bool(replies(fake_slack, ts)), timeout_s=ANSWER_S)
    waited = time.monotonic() - killed
    assert await second.terminate() == 0
    assert kinds(fake_slack, ts) == ["medgemma_answer"]
    assert replies(fake_slack, ts)[0]["text"].startswith(echo_answer(QUESTION))
    assert len(fake_openai.requests) == 2
    assert json.loads(state.read_text())["questions"] == []
    statuses = [c["status"] for c in fake_slack.status_calls if c["thread_ts"] == ts]
    assert statuses[-1] == ""  # the dead process's status cleared by the new answer
    [audit] = second.events("question_audit")
    assert (audit["attempt"], audit["outcome"]) == (1, "answered")
    print(f"state file: answered {waited:.1f} s after the SIGKILL (new process start included)")


async def test_a_replica_killed_mid_answer_is_finished_by_a_live_one(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, tmp_path: Path, redis_url: str
) -> None:
    fake_slack.web.rates.minute_s = 0.5
    env = bot_env(
        fake_slack, fake_openai, MEDGEMMA_REDIS_URL=redis_url, MEDGEMMA_REPLICA_TIMEOUT_S="2"
    )
    fake_openai.hang()
    doomed = await BotProcess.start(env, folder=tmp_path, name="doomed")
    await doomed.ready()
    ts = await ask(fake_slack)  # the only connection: the doomed replica answers
    await wait_until(lambda: len(fake_openai.requests) == 1, timeout_s=ANSWER_S)
    survivor = await BotProcess.start(env, folder=tmp_path, name="survivor")
    await survivor.ready()
    await doomed.kill()
    killed = time.monotonic()
    # Nobody restarts anything: the survivor's orphan scan finds the question.
    await wait_until(lambda: bool(replies(fake_slack, ts)), timeout_s=ANSWER_S)
    waited = time.monotonic() - killed
    await wait_until(lambda: bool(survivor.events("question_audit")))
    metrics = await survivor.metrics()
    assert await survivor.terminate() == 0
    assert kinds(fake_slack, ts) == ["medgemma_answer"]
    assert len(fake_openai.requests) == 2
    assert 'medgemma_recoveries_total{outcome="answering_again"} 1.0' in metrics
    assert 'medgemma_questions_total{outcome="answered"} 1.0' in metrics
    [audit] = survivor.events("question_audit")
    assert (audit["attempt"], audit["outcome"]) == (1, "answered")
    print(f"redis: answered {waited:.1f} s after the SIGKILL by the live replica")


async def test_sigterm_while_the_model_stalls_tells_the_user_to_ask_again(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    fake_slack.web.rates.minute_s = 0.5
    state = tmp_path / "state.json"
    env = bot_env(fake_slack, fake_openai, MEDGEMMA_STATE_FILE=str(state), MEDGEMMA_DRAIN_S="3")
    fake_openai.hang()
    bot = await BotProcess.start(env, folder=tmp_path, name="stopped")
    await bot.ready()
    ts = await ask(fake_slack)
    await wait_until(lambda: len(fake_openai.requests) == 1, timeout_s=ANSWER_S)
    bot.process.send_signal(signal.SIGTERM)
    probes = []
    while bot.process.returncode is None:  # sampling the probe while it drains
        probes.append(await bot.readyz())
        await asyncio.sleep(0.05)
    assert await bot.terminate() == 0
    assert (503, ["draining", "slack"]) in probes  # not ready while it drains
    [notice] = replies(fake_slack, ts)
    assert notice["metadata"]["event_type"] == "medgemma_notice"
    assert "ask again" in notice["text"]
    # The next process finds nothing left to do: still one message.
    after = await BotProcess.start(env, folder=tmp_path, name="after")
    await after.ready()
    assert await after.terminate() == 0
    assert len(replies(fake_slack, ts)) == 1 and len(fake_openai.requests) == 1


async def test_sigterm_while_answering_lets_the_answer_finish(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    env = bot_env(fake_slack, fake_openai, MEDGEMMA_DRAIN_S="30")
    fake_openai.reply("Slow but sure.", pause_s=2.0)
    bot = await BotProcess.start(env, folder=tmp_path, name="draining")
    await bot.ready()
    ts = await ask(fake_slack)
    await wait_until(lambda: len(fake_openai.requests) == 1, timeout_s=ANSWER_S)
    assert await bot.terminate() == 0
    [answer] = replies(fake_slack, ts)
    assert answer["metadata"]["event_type"] == "medgemma_answer"
    assert answer["text"].startswith("Slow but sure.")


async def test_three_processes_answer_each_of_100_questions_once(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, tmp_path: Path, redis_url: str
) -> None:
    fake_slack.web.rates.minute_s = 0.5
    env = bot_env(fake_slack, fake_openai, MEDGEMMA_REDIS_URL=redis_url)
    bots = [await BotProcess.start(env, folder=tmp_path, name=f"bot{i}") for i in range(3)]
    await asyncio.gather(*(bot.ready() for bot in bots))
    await wait_until(lambda: len(fake_slack.socket.connections) == 3)
    fake_slack.socket.pick = "random"  # each envelope, retries included, to any of them
    fake_slack.socket.rng = random.Random(1071)
    asked, sends = [], []
    for i in range(100):
        question = f"case {i}"
        events = fake_slack.post_user_message(  # a department: one person a case
            channel=f"C{i % 10}", text=f"<@{fake_slack.bot_user_id}> {question}", user=f"U{i:03d}"
        )
        asked.append((f"C{i % 10}", str(events[0]["ts"]), question))
        for event in events:
            event_id = new_event_id()
            for retry in (0, 1, 2):
                sends.append(deliver(fake_slack, event, event_id=event_id, retry=retry))
    started = time.monotonic()
    await asyncio.gather(*sends)
    await wait_until(
        lambda: all(replies(fake_slack, ts, channel) for channel, ts, _ in asked),
        timeout_s=ANSWER_S,
    )
    seconds = time.monotonic() - started
    assert [await bot.terminate() for bot in bots] == [0, 0, 0]  # drained: nothing more comes
    for channel, ts, question in asked:
        [reply] = replies(fake_slack, ts, channel)
        assert reply["text"].startswith(echo_answer(question))
    assert len(fake_openai.requests) == 100
    served = [len(bot.events("question_audit")) for bot in bots]
    assert sum(served) == 100 and all(served), served
    print(f"3 processes, 100 questions, 600 envelopes: {seconds:.1f} s; answered {served}")


async def deliver(fake: FakeSlack, event: dict[str, Any], *, event_id: str, retry: int) -> None:
    """An envelope (a retry keeps its event_id), acknowledged by whichever process got it.

    One that lands on a connection being replaced is never acknowledged: Slack then
    sends it again (up to three retries, docs.slack.dev/apis/events-api: "retries"),
    and so does this.
    """
    for attempt in range(retry, retry + 4):
        envelope = await fake.send_event(
            event,
            event_id=event_id,
            retry_attempt=attempt,
            retry_reason="timeout" if attempt else "",
        )
        try:
            await fake.wait_acked(envelope, timeout=ACK_S)
            return
        except TimeoutError:
            continue
    raise AssertionError(f"event {event_id} never acknowledged")


async def test_an_unreachable_redis_stops_start_up_with_one_line(
    fake_slack: FakeSlack, fake_openai: FakeOpenAIServer, tmp_path: Path
) -> None:
    missing = tmp_path / "no-redis.sock"
    env = bot_env(fake_slack, fake_openai, MEDGEMMA_REDIS_URL=f"unix://{missing}")
    bot = await BotProcess.start(env, folder=tmp_path, name="no-redis")
    assert await bot.exited() == 2
    last = bot.tail(1)
    assert last.startswith(f"medgemma-bot: cannot reach Redis at {missing}")
    assert "MEDGEMMA_REDIS_URL" in last
