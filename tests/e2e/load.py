"""A burst of questions over many threads, as a busy department sends them.

Used by the end-to-end test (exactly one reply per question, its own) and by
`bench/slack_load.py` (latency figures).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from tests.e2e.harness import Harness, findings, wait_until
from tests.fakes.backend import digest


@dataclass(frozen=True)
class Asked:
    """One question of the burst: where, what, and when it was sent."""

    thread_ts: str
    ts: str
    text: str
    sent_at: float


def person(n: int) -> str:
    """The user id of the department's n-th person."""
    return f"U{n:04d}"


async def burst(h: Harness, *, threads: int, per_thread: int, within_s: float) -> list[Asked]:
    """Post `threads` mentions, then `per_thread - 1` follow-ups in each, within `within_s`.

    Each thread is one person's case (a department: `threads` people). Messages are
    stored as they are written; their events are delivered concurrently in small waves,
    as Slack would push them to the bot.
    """
    mention = f"<@{h.fake.bot_user_id}>"
    planned: list[tuple[str, str, list[dict[str, object]]]] = []
    for n in range(threads):
        text = f"case {n}: what do you see?"
        events = h.fake.post_user_message(
            channel=h.channel, text=f"{mention} {text}", user=person(n)
        )
        planned.append((str(events[0]["ts"]), text, events))
    for k in range(1, per_thread):
        for n, (root, _, _) in enumerate(planned[:threads]):
            text = f"case {n}, question {k}: anything else?"
            events = h.fake.post_user_message(
                channel=h.channel, text=text, thread_ts=root, user=person(n)
            )
            planned.append((root, text, events))
    waves = max(1, round(within_s / 0.1))
    size = -(-len(planned) // waves)
    asked: list[Asked] = []
    began = time.monotonic()
    for n, start in enumerate(range(0, len(planned), size)):
        await asyncio.sleep(max(0.0, began + n * within_s / waves - time.monotonic()))
        wave = planned[start : start + size]
        now = time.monotonic()
        asked += [Asked(root, str(ev[0]["ts"]), text, now) for root, text, ev in wave]
        await asyncio.gather(*(h.deliver(ev) for _, _, ev in wave))  # type: ignore[arg-type]
    return asked


async def latencies(
    h: Harness, asked: list[Asked], *, timeout_s: float, exact: bool = True
) -> list[float]:
    """Wait for the answers; seconds from each answered question to its answer's first words.

    `exact`: raises AssertionError unless each question got exactly one reply, its own
    answer. Otherwise it waits until the bot is idle and times the answered ones.
    """
    seen: dict[str, float] = {}
    wanted = {a.ts for a in asked}
    jobs = h.slack.deps.jobs

    def answered() -> bool:
        for a in asked:
            if a.ts in seen:
                continue
            for reply in h.bot_replies(a.thread_ts):
                shown = findings(reply) or reply.get("text", "")  # a stream shows its text
                if shown.startswith(f"Findings for {digest(a.text)}"):
                    seen[a.ts] = time.monotonic()
        return wanted <= set(seen) or (not exact and jobs.idle)

    await wait_until(answered, timeout_s=timeout_s)
    await h.settle()
    answered()
    if exact:
        roots = {a.thread_ts for a in asked}
        replies = [r for root in roots for r in h.bot_replies(root)]
        assert len(replies) == len(asked), f"{len(replies)} replies to {len(asked)} questions"
        assert all(r["metadata"]["event_type"] == "medgemma_answer" for r in replies)
    return [seen[a.ts] - a.sent_at for a in asked if a.ts in seen]


def busy_notices(h: Harness, asked: list[Asked]) -> int:
    """How many busy notices the bot posted in the burst's threads."""
    roots = {a.thread_ts for a in asked}
    return sum(
        1
        for root in roots
        for reply in h.bot_replies(root)
        if (reply.get("metadata") or {}).get("event_payload", {}).get("kind") == "busy"
    )
