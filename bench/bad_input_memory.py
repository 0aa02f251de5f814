"""Memory through bad input, and what each attack file of issue 18 costs, against the fake Slack.

    .venv/bin/python bench/bad_input_memory.py [--rounds 3] [--parts cases,attacks,bystander]

First (`cases`) it sends each case of tests/e2e/test_bad_input_kinds.py to one running
bot, `--rounds` times, and prints the process's resident memory at the start, after each
round, and at the end once the image cache is emptied: what hostile or broken files
leave behind.

Then (`attacks`), at the shipped settings, each attack file (bad_input_cases.ATTACKS) is
sent to a fresh bot and the peak resident memory printed: the bot's own process (its
high-water mark, reset before each file) and its decoding processes (their summed
resident memory, sampled every 10 ms, and the largest one's high-water mark), with the
reply and how long it took. Last (`bystander`), a bystander's PNG is sent 4 s after two
frame bombs: how long until it is answered (given up at `--patience` seconds). The
script runs on older checkouts too (decoding was in the bot's own threads then), for
figures before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.bad_input_cases import ATTACKS, CASES, Case, ask_case, upload
from tests.e2e.harness import Harness, png_bytes, running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack
from tests.imaging import attacks

MIB = 2**20


def rss_mib() -> float:
    """Resident memory now, after a collection and returning freed heap to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / MIB


def status_mib(pid: int | str, field: str) -> float:
    """VmRSS or VmHWM of a process in MiB, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_peak(pid: int | str) -> None:
    """Start a process's high-water mark (VmHWM) again from its resident memory now."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def worker_pids(h: Harness) -> list[int]:
    """The bot's decoding processes (none before they existed)."""
    decoders = getattr(h.slack.files, "decoders", None)
    return list(decoders.pids) if decoders is not None else []


class WorkerSampler:
    """Samples the decoding processes' resident memory in a thread until stopped."""

    def __init__(self, h: Harness) -> None:
        self._h, self._stop = h, threading.Event()
        self.peak_sum = self.peak_one = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WorkerSampler:
        for pid in worker_pids(self._h):
            reset_peak(pid)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        for pid in worker_pids(self._h):
            self.peak_one = max(self.peak_one, status_mib(pid, "VmHWM"))

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            sizes = [status_mib(pid, "VmRSS") for pid in worker_pids(self._h)]
            self.peak_sum = max(self.peak_sum, sum(sizes))
            self.peak_one = max(self.peak_one, *sizes, 0.0)


def reply_kind(reply: dict[str, Any]) -> str:
    kind = str(reply.get("metadata", {}).get("event_type", "?")).removeprefix("medgemma_")
    return kind if kind != "notice" else "notice: " + reply["text"][:60]


async def attack_figures(patience: float) -> None:
    """Each attack file, one fresh bot each, at the shipped settings."""
    print("\nattack file | reply | s | bot peak rise MiB | workers' peak MiB (sum; largest)")
    for case in ATTACKS:
        async with FakeSlack() as fake, running_bot(fake, FakeBackend()) as h:
            before = rss_mib()
            reset_peak("self")
            with WorkerSampler(h) as workers:
                reply = await _asked(h, case, patience)
            rise = status_mib("self", "VmHWM") - before
            print(
                f"{case.name} | {reply} | {rise:.0f} | "
                f"{workers.peak_sum:.0f}; {workers.peak_one:.0f}"
            )


async def _asked(h: Harness, case: Case, patience: float) -> str:
    """ "reply | seconds" for one attack, asked at once with all its files."""
    files = [upload(h.fake, item, n) for n, item in enumerate(case.files)]
    seconds, kind = await _first_reply(h, await h.ask(case.text, files=files), patience)
    return f"{kind} | {seconds}"


async def bystander(patience: float) -> None:
    """A PNG asked 4 s after two frame bombs: seconds until it is answered."""
    async with FakeSlack() as fake, running_bot(fake, FakeBackend()) as h:
        bombs = [upload(fake, attacks.frame_bomb(), n) for n in range(2)]
        bomb_ts = await h.ask("what is this?", files=bombs, user="U1")
        await asyncio.sleep(4.0)
        photo_ts = await h.ask("and this?", files=[upload(fake, png_bytes(), 9)], user="U2")
        seconds, kind = await _first_reply(h, photo_ts, patience)
        print(f"\nbystander's PNG, asked 4 s after two frame bombs: {kind} after {seconds} s")
        seconds, kind = await _first_reply(h, bomb_ts, patience)
        print(f"the frame bombs' question: {kind} {seconds} s after that")


async def _first_reply(h: Harness, ts: str, patience: float) -> tuple[str, str]:
    """Seconds until the bot's first reply in a thread, and its kind; or that it never came."""
    started = time.monotonic()
    while not h.bot_replies(ts):
        if time.monotonic() - started > patience:
            return f"more than {patience:.0f}", "no reply"
        await asyncio.sleep(0.05)
    return f"{time.monotonic() - started:.1f}", reply_kind(h.bot_replies(ts)[0])


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


async def rounds_of_cases(rounds: int) -> None:
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


async def main(args: argparse.Namespace) -> None:
    parts = args.parts.split(",")
    if "cases" in parts:
        await rounds_of_cases(args.rounds)
    if "attacks" in parts:
        await attack_figures(args.patience)
    if "bystander" in parts:
        await bystander(args.patience)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", default="cases,attacks,bystander")
    parser.add_argument("--patience", type=float, default=120.0)
    asyncio.run(main(parser.parse_args()))
    sys.stdout.flush()
    # Before decoding processes, a frame bomb's threads could not be stopped: do not wait.
    os._exit(0)
