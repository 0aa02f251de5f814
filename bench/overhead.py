"""The bot's own overhead with an instant model, and where it goes.

    .venv/bin/python bench/overhead.py [--parts png,xray,ct,prep,ack] [--runs 10]

The running bot against the fake Slack and the fake OpenAI-compatible server (which
answers at once), so every millisecond is the bot's: Slack calls, download, decode,
resize, the encoding for the model server (PNG and base64), the request itself. Runs
alternate between the encoding as it was before issue 21 ("before": every image an RGB
PNG) and as it is ("after": a grey image as a one-channel PNG), in the same process, so
both see the same machine load. Three figures, each with its phases (wall time summed over the calls
made for one question; threads overlap, so phases can add up to more than the total):

- png, xray: a 2 MB PNG (a colour photo; a grey radiograph) posted with a question, to
  the answer in the thread (p50, p95);
- ct: a zip of 120 CT slices (512 x 512), to the model request's arrival (85 images sent);
- prep: the in-process backend's preparation (chat template, tokens, pixel values through
  the checkpoint's own processor, MedGemma's shape: 896 px, 256 tokens an image) of one
  image and of 85 CT slices, split into its text and image parts;
- ack: Socket Mode acknowledgement times (p50, p99) of 100 questions, one every 20 ms,
  sent while 50 others are in flight (the model answers after 3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import io
import statistics
import sys
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.backends import create_backend, openai_compat
from bot.pipeline.decoding.pool import DecodePool
from bot.slack.webapi import files
from tests.e2e.harness import findings, running_bot, settings_for, wait_until
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack import FakeSlack
from tests.imaging.helpers import dicom_bytes, sample_dataset

PHASES: dict[str, list[float]] = defaultdict(list)
VARIANTS = ("before", "after")
CURRENT = {"variant": "after"}


def encode_before(images: Sequence[Image.Image]) -> list[str]:
    """The encoding before issue 21: every image an RGB PNG at level 1."""
    urls = []
    for image in images:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", compress_level=1)
        urls.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
    return urls


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if asyncio.iscoroutinefunction(fn):

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                PHASES[f"{CURRENT['variant']}:{name}"].append(time.perf_counter() - started)

        return timed_async

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            PHASES[f"{CURRENT['variant']}:{name}"].append(time.perf_counter() - started)

    return timed


@contextmanager
def phases(variant: str) -> Iterator[None]:
    """Time the steps of a question by wrapping the functions that do them."""
    from slack_sdk.web.async_base_client import AsyncBaseClient

    CURRENT["variant"] = variant
    real_encode = openai_compat.encode_images
    if variant == "before":
        openai_compat.encode_images = encode_before
    targets = [
        (files.SlackFile, "read", "download"),
        # Decoding (with resize and pad) runs in a decoding process: timed from the bot,
        # the hop included (bench/decode_hop.py measures the hop alone).
        (DecodePool, "decode", "decode in its process (+ resize, hop)"),
        (openai_compat, "to_openai_messages", "encode for the model"),
        (openai_compat, "encode_images", "  of which PNG + base64"),
        (AsyncBaseClient, "api_call", "Slack Web API calls"),
    ]
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in targets]
    for owner, attr, name in targets:
        setattr(owner, attr, _timed(name, getattr(owner, attr)))
    try:
        yield
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)
        openai_compat.encode_images = real_encode


def two_mb_png(*, grey: bool) -> bytes:
    """A photo-like PNG of about 2 MB: colour (1280 px) or a grey radiograph (2048 px)."""
    rng = np.random.default_rng(0)
    if grey:
        y, x = np.mgrid[0:2048, 0:2048]
        base = ((x // 3 + y // 5) % 256).astype(np.int16)
    else:
        y, x = np.mgrid[0:1280, 0:1280]
        base = np.stack([(x + y) % 256, (x * 2) % 256, (y * 3) % 256], -1).astype(np.int16)
    noisy = np.clip(base + rng.integers(-2, 3, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format="PNG")
    return buffer.getvalue()


def ct_zip(count: int = 120) -> bytes:
    """`count` 512 x 512 CT slices of one series, zipped."""
    base = sample_dataset("CT_small.dcm")
    big = np.kron(base.pixel_array.astype(np.int16), np.ones((4, 4), dtype=np.int16))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for i in range(count):
            ds = copy.deepcopy(base)
            ds.Rows, ds.Columns = big.shape
            ds.InstanceNumber = i + 1
            ds.ImagePositionPatient = [0.0, 0.0, 2.5 * i]
            ds.PixelData = (big + i).astype(np.int16).tobytes()
            zipped.writestr(f"ct/IMG{i:04d}.dcm", dicom_bytes(ds))
    return buffer.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(title: str, totals: dict[str, list[float]]) -> None:
    """Per variant: total percentiles, then each phase per question, in milliseconds."""
    print(f"\n{title}")
    for variant in VARIANTS:
        runs = totals[variant]
        p50, p95 = statistics.median(runs) * 1000, percentile(runs, 0.95) * 1000
        print(f"  {variant}: p50 {p50:.0f} ms, p95 {p95:.0f} ms ({len(runs)} runs)")
        for key, values in PHASES.items():
            if key.startswith(variant + ":"):
                name = key.split(":", 1)[1]
                per_run = sum(values) / len(runs) * 1000
                print(f"    {name:26} {per_run:8.1f} ms ({len(values) / len(runs):.0f} calls)")
    PHASES.clear()


def env_for(server: FakeOpenAIServer) -> dict[str, str]:
    return {
        "MEDGEMMA_BACKEND": "openai",
        "MEDGEMMA_BASE_URL": server.base_url,
        "MEDGEMMA_MODEL": "google/medgemma-1.5-4b-it",
        "MEDGEMMA_SERVER_MAX_IMAGES": "128",
        "MEDGEMMA_CONTEXT_TOKENS": "32768",
    }


async def png_part(runs: int, *, grey: bool) -> None:
    data = two_mb_png(grey=grey)
    async with FakeSlack() as fake, FakeOpenAIServer() as server:
        env = env_for(server)
        async with running_bot(fake, create_backend(settings_for(fake, **env)), **env) as h:
            totals: dict[str, list[float]] = defaultdict(list)
            for n in range(2 * runs + 2):  # the first two warm up
                png = fake.add_file(data, name="x.png", mimetype="image/png", filetype="png")
                variant = VARIANTS[n % 2]
                started = time.perf_counter()
                with phases(variant):
                    root = await h.ask("what do you see?", files=[png])
                    await wait_until(lambda r=root: any(map(findings, h.bot_replies(r))))
                if n >= 2:
                    totals[variant].append(time.perf_counter() - started)
                else:
                    PHASES.clear()
                await h.settle()
    kind = "grey radiograph" if grey else "colour photo"
    report(f"2 MB PNG, {kind} ({len(data) / 1e6:.1f} MB), post to answer:", totals)


async def ct_part(runs: int) -> None:
    data = ct_zip()
    arrivals: list[float] = []
    real_chat = FakeOpenAIServer._chat

    async def chat(self: FakeOpenAIServer, request: Any) -> Any:
        arrivals.append(time.perf_counter())  # before the body is read: the request arrived
        return await real_chat(self, request)

    FakeOpenAIServer._chat = chat  # type: ignore[method-assign]
    async with FakeSlack() as fake, FakeOpenAIServer() as server:
        env = env_for(server)
        async with running_bot(fake, create_backend(settings_for(fake, **env)), **env) as h:
            totals: dict[str, list[float]] = defaultdict(list)
            for n in range(2 * runs + 2):  # the first two warm up
                zipped = fake.add_file(
                    data, name="ct.zip", mimetype="application/zip", filetype="zip"
                )
                variant = VARIANTS[n % 2]
                started, count = time.perf_counter(), len(arrivals)
                with phases(variant):
                    await h.ask("any bleeding?", files=[zipped])
                    await wait_until(lambda c=count: len(arrivals) > c, timeout_s=120)
                if n >= 2:
                    totals[variant].append(arrivals[-1] - started)
                else:
                    PHASES.clear()
                await h.settle()
            content = server.requests[-1]["messages"][-1]["content"]
            images = sum(part.get("type") == "image_url" for part in content)
    FakeOpenAIServer._chat = real_chat  # type: ignore[method-assign]
    title = f"120-slice CT zip ({len(data) / 1e6:.1f} MB) to the model request, {images} images:"
    report(title, totals)


def prep_part(runs: int) -> None:
    from bot.backends.base import ChatMessage, ImagePart, TextPart
    from bot.backends.hf import prompt, synthetic

    processor = synthetic.build_processor(
        synthetic.MEDGEMMA_IDS, image_size=896, tokens_per_image=256
    )
    slice_ = Image.fromarray(np.random.default_rng(0).integers(0, 255, (896, 896, 3), np.uint8))
    print("\nIn-process preparation (transformers' processor, 896 px images):")
    for count in (1, 85):
        parts = (*(ImagePart(slice_) for _ in range(count)), TextPart("Any bleeding?"))
        messages = (ChatMessage("user", parts),)
        whole, pixels, text = [], [], []
        for _ in range(runs):
            started = time.perf_counter()
            prompt.prepare(processor, messages)
            whole.append(time.perf_counter() - started)
            started = time.perf_counter()
            processor.image_processor([slice_] * count, return_tensors="pt")
            pixels.append(time.perf_counter() - started)
            text.append(whole[-1] - pixels[-1])
        total, images = statistics.median(whole) * 1000, statistics.median(pixels) * 1000
        rest = statistics.median(text) * 1000
        print(
            f"  {count} image(s): {total:.0f} ms; pixel values alone {images:.0f} ms, "
            f"the rest (template, tokens) about {rest:.0f} ms (medians of {runs})"
        )


async def ack_part(in_flight: int = 50, measured: int = 100) -> None:
    async with FakeSlack() as fake, FakeOpenAIServer() as server:
        for _ in range(in_flight + measured):  # answers after 3 s: questions stay in flight
            server.reply("Nothing acute. " * 20, pause_s=3.0)
        wide = {"MEDGEMMA_MAX_PENDING": "1024", "MEDGEMMA_MAX_PER_PERSON": "1024"}
        env = env_for(server) | wide | {"MEDGEMMA_MAX_PER_CHANNEL": "1024"}
        async with running_bot(fake, create_backend(settings_for(fake, **env)), **env) as h:
            mention = f"<@{fake.bot_user_id}>"

            async def ask(n: int) -> float:
                events = fake.post_user_message(channel=h.channel, text=f"{mention} case {n}?")
                started = time.perf_counter()
                envelope = await fake.send_event(events[0])
                await fake.wait_acked(envelope)
                return time.perf_counter() - started

            await asyncio.gather(*(ask(n) for n in range(in_flight)))
            acks = []
            for n in range(measured):  # one new question every 20 ms
                acks.append(await ask(in_flight + n))
                await asyncio.sleep(0.02)
            # Posting 150 answers in one channel takes Slack minutes: stop without waiting.
    p50, p99 = statistics.median(acks) * 1000, percentile(acks, 0.99) * 1000
    print(
        f"\nSocket Mode ack with {in_flight} questions in flight (no images, so the same "
        f"before and after): p50 {p50:.1f} ms, p99 {p99:.1f} ms ({measured} acks)"
    )


async def main(args: argparse.Namespace) -> None:
    parts = args.parts.split(",")
    if "png" in parts:
        await png_part(args.runs, grey=False)
    if "xray" in parts:
        await png_part(args.runs, grey=True)
    if "ct" in parts:
        await ct_part(max(1, args.runs // 3))
    if "prep" in parts:
        prep_part(max(1, args.runs // 3))
    if "ack" in parts:
        await ack_part()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="png,xray,ct,prep,ack")
    parser.add_argument("--runs", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
