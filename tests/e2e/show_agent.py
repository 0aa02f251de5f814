"""Print the agent experience as the fake Slack stored it, for a review or a note.

`.venv/bin/python -m tests.e2e.show_agent` prints the manifest's agent section, the
welcome and its suggested prompts, a waiting question's status calls, and a stream
stopped with its Stop button: each exactly as the fake Slack holds it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import yaml

from bot.slack.question import progress, streaming
from bot.slack.surfaces.stop import STOP_ACTION
from bot.slack.wiring.manifest import manifest
from tests.e2e.harness import Harness, running_bot, wait_until
from tests.fakes.backend import FakeBackend, Step
from tests.fakes.slack import FakeSlack


def show(title: str, value: Any) -> None:
    print(f"--- {title}")
    print(value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False))


def progress_message(h: Harness, ts: str) -> dict[str, Any] | None:
    for message in h.bot_replies(ts):
        if (message.get("metadata") or {}).get("event_payload", {}).get("kind") == "progress":
            return message
    return None


async def welcome() -> None:
    async with FakeSlack() as fake, running_bot(fake, FakeBackend()) as h:
        await h.deliver([fake.interactive.home_opened(user="U1", tab="messages")])
        await h.settle()
        show("welcome (chat.postMessage in D1)", [m for m in fake.messages_in("D1")])
        show(
            "suggested prompts (assistant.threads.setSuggestedPrompts)",
            fake.calls_to("assistant.threads.setSuggestedPrompts"),
        )


async def waiting() -> None:
    backend = FakeBackend().then(Step(delay_s=0.3)).then(Step(delay_s=0.3)).then(Step())
    async with FakeSlack() as fake, running_bot(fake, backend, MEDGEMMA_MAX_PENDING="1") as h:
        first = await h.ask("what is a pneumothorax?")
        await wait_until(lambda: len(backend.requests) == 1)
        await h.ask("and an effusion?", user="U2")
        third = await h.ask("and a consolidation?", user="U3")
        await h.replies(third)
        await h.replies(first)
        show(
            "status calls of the third question",
            [c for c in fake.status_calls if c["thread_ts"] == third],
        )


async def stopped() -> None:
    chunks = [f"word{n} " for n in range(40)]
    backend = FakeBackend().then(Step(chunks=chunks, chunk_delay_s=0.02, hang_after=10))
    async with FakeSlack() as fake, running_bot(fake, backend, MEDGEMMA_STREAMING="on") as h:
        ts = await h.ask("what do you see?")
        await wait_until(lambda: progress_message(h, ts) is not None)
        button = progress_message(h, ts)
        assert button is not None
        show("progress message with the Stop button", button)
        await wait_until(lambda: bool(fake.calls_to("chat.startStream")))
        await h.interact(
            fake.interactive.click(channel="C1", ts=button["ts"], action_id=STOP_ACTION)
        )
        await h.settle()
        show("the stopped stream's message", h.bot_replies(ts))


async def main() -> None:
    streaming.FLUSH_S = 0.05
    progress.STOP_AFTER_S = 0.05
    agent = {"features": {"agent_view": manifest()["features"]["agent_view"]}}
    show("manifest: the agent section", yaml.safe_dump(agent, sort_keys=False, allow_unicode=True))
    await welcome()
    await waiting()
    await stopped()


if __name__ == "__main__":
    asyncio.run(main())
