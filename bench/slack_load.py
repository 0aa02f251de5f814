"""Latency of a burst of questions through the running bot, against the fake Slack.

    .venv/bin/python bench/slack_load.py [--threads 50] [--per-thread 4] [--within 2]

The fake Slack enforces Slack's documented rate limits (Tier 3 thread reads, about a
post a second per channel) over a compressed minute (`--minute`, 6 s by default, so a
real workspace would take about ten times longer to drain the same burst). The model
is the scripted fake (instant answers), so the figures are the Slack side alone: reads,
posts, statuses, retries after 429. Prints p50/p95/max latency from question to answer.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.harness import running_bot
from tests.e2e.load import burst, latencies
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack


async def main(args: argparse.Namespace) -> None:
    async with FakeSlack() as fake:
        fake.web.rates.minute_s = args.minute
        backend = FakeBackend()
        async with running_bot(fake, backend, MEDGEMMA_MAX_PENDING="1024") as h:
            started = time.monotonic()
            asked = await burst(
                h, threads=args.threads, per_thread=args.per_thread, within_s=args.within
            )
            posted_s = time.monotonic() - started
            waited = sorted(await latencies(h, asked, timeout_s=600))
            total_s = time.monotonic() - started
        limited = Counter(fake.web.rates.limited)
    p95 = waited[int(0.95 * (len(waited) - 1))]
    print(f"{len(asked)} questions over {args.threads} threads, posted in {posted_s:.1f} s")
    print(f"latency p50 {statistics.median(waited):.1f} s, p95 {p95:.1f} s, max {waited[-1]:.1f} s")
    print(f"all answered {total_s:.1f} s after the first question; Slack minute = {args.minute} s")
    print("429s by method: " + ", ".join(f"{m} {n}" for m, n in limited.most_common()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--per-thread", type=int, default=4)
    parser.add_argument("--within", type=float, default=2.0)
    parser.add_argument("--minute", type=float, default=6.0)
    asyncio.run(main(parser.parse_args()))
