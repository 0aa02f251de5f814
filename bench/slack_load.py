"""Latency of a burst of questions through the running bot, against the fake Slack.

    .venv/bin/python bench/slack_load.py [--threads 50] [--per-thread 4] [--within 2]
        [--streaming] [--word-s 0.03] [--max-pending 64]

The fake Slack enforces Slack's documented rate limits (Tier 3 thread reads, about a
post a second per channel) over a compressed minute (`--minute`, 6 s by default, so a
real workspace would take about ten times longer to drain the same burst). The model
is the scripted fake (instant answers, or a word every `--word-s` seconds), so the
figures are the Slack side alone: reads, posts, statuses, streams, retries after 429.
Prints p50/p95/max latency from question to its answer's first words in the thread,
and how many questions got a busy notice instead (each thread is one person's case; the
bot's answer slots are MEDGEMMA_MAX_PENDING, `--max-pending`, 64 as shipped).
`--streaming` streams answers; the bot's stream budget counts real minutes, so over the
compressed minute fewer answers stream than would in a workspace.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncGenerator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.backends.base import GenerationRequest
from tests.e2e.harness import running_bot
from tests.e2e.load import burst, busy_notices, latencies
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack

FILLER = " ".join(f"finding{n}" for n in range(60))


class SpeakingBackend(FakeBackend):
    """The scripted fake, speaking its answer (plus 60 words) a word every `word_s`."""

    word_s = 0.0

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        async for chunk in super().stream(request):
            for word in f"{chunk} {FILLER}".split(" "):
                await asyncio.sleep(self.word_s)
                yield word + " "


async def main(args: argparse.Namespace) -> None:
    async with FakeSlack() as fake:
        fake.web.rates.minute_s = args.minute
        backend = SpeakingBackend() if args.word_s else FakeBackend()
        backend.word_s = args.word_s
        streaming = "on" if args.streaming else "off"
        env = {"MEDGEMMA_MAX_PENDING": str(args.max_pending), "MEDGEMMA_STREAMING": streaming}
        async with running_bot(fake, backend, **env) as h:
            started = time.monotonic()
            asked = await burst(
                h, threads=args.threads, per_thread=args.per_thread, within_s=args.within
            )
            posted_s = time.monotonic() - started
            waited = sorted(await latencies(h, asked, timeout_s=600, exact=False))
            total_s = time.monotonic() - started
            busy = busy_notices(h, asked)
        limited = Counter(fake.web.rates.limited)
    p95 = waited[int(0.95 * (len(waited) - 1))]
    print(f"{len(asked)} questions over {args.threads} threads, posted in {posted_s:.1f} s")
    print(f"busy notices {busy} (answer slots: {args.max_pending}), answered {len(waited)}")
    print(f"latency p50 {statistics.median(waited):.1f} s, p95 {p95:.1f} s, max {waited[-1]:.1f} s")
    print(f"all answered {total_s:.1f} s after the first question; Slack minute = {args.minute} s")
    streams = len(fake.calls_to("chat.stopStream"))
    print(f"streamed answers {streams} of {len(asked)} (the rest posted whole)")
    print("429s by method: " + ", ".join(f"{m} {n}" for m, n in limited.most_common()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--per-thread", type=int, default=4)
    parser.add_argument("--within", type=float, default=2.0)
    parser.add_argument("--minute", type=float, default=6.0)
    parser.add_argument("--streaming", action="store_true", help="stream answers (bot budget)")
    parser.add_argument("--word-s", type=float, default=0.0, help="model speed: s per word")
    parser.add_argument("--max-pending", type=int, default=64, help="answer slots")
    asyncio.run(main(parser.parse_args()))
