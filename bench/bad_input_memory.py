"""Memory through a run of every bad-input case, against the fake Slack.

    .venv/bin/python bench/bad_input_memory.py [--rounds 3]

Sends each case of tests/e2e/test_bad_input_kinds.py to one running bot, `--rounds`
times, and prints the process's resident memory at the start, after each round, and
at the end once the image cache is emptied: what hostile or broken files leave behind.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.bad_input_cases import CASES, ask_case
from tests.e2e.harness import running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack


def rss_mib() -> float:
    """Resident memory now, after a collection and returning freed heap to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def forget_fake_state(fake: FakeSlack) -> None:
    """Drop what the fake Slack (same process) recorded, so the figures are the bot's."""
    fake.web.calls.clear()
    fake.web.status_calls.clear()
    fake.file_host.requests.clear()
    fake.file_host.files.clear()
    fake.store.channels.clear()
    fake.socket.sent.clear()
    fake.socket.acks.clear()
    fake.socket.received.clear()
    fake.socket._acked.clear()
    fake.socket.delivered_to.clear()
    fake.uploads.shared.clear()  # contact sheets' PNGs
    fake.uploads.requests.clear()
    fake.web.rates.limited.clear()


async def main(rounds: int) -> None:
    async with FakeSlack() as fake:
        env = {"SLACK_DOWNLOAD_TIMEOUT_S": "2", "MEDGEMMA_IMAGE_CACHE_TTL_S": "1"}
        backend = FakeBackend()
        async with running_bot(fake, backend, **env) as h:
            start = rss_mib()
            print(f"start {start:.0f} MiB, {len(CASES)} cases a round")
            for n in range(1, rounds + 1):
                began = time.monotonic()
                for case in CASES:
                    await ask_case(h, case)
                took = time.monotonic() - began
                forget_fake_state(fake)
                backend.requests.clear()  # the scripted model keeps every request's images
                print(f"after round {n}: {rss_mib():.0f} MiB ({took:.1f} s)")
            await asyncio.sleep(1.1)  # the decoded-image cache's time limit passes
            held = h.slack.files._cache.nbytes  # reading it lets the old entries go
            print(f"decoded images still cached: {held} bytes")
            print(f"end: {rss_mib():.0f} MiB (start {start:.0f} MiB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
