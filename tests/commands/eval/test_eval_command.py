"""`python -m bot eval` end to end: a fake OpenAI-compatible model server on loopback,
the documented JSON report, Ctrl-C and `--resume`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.commands.eval import layouts
from tests.e2e.harness import wait_until
from tests.fakes.openai_server import FakeOpenAIServer, last_user_text

ROOT = Path(__file__).resolve().parents[3]
RECORD_KEYS = {
    "id",
    "group",
    "question_type",
    "condition",
    "question",
    "reference",
    "prediction",
    "tokenized_f1",
    "correct",
    "read_as",
    "error",
}


def vqa_rad_reply(body: dict[str, Any]) -> str:
    text = last_user_text(body)
    return next(a for q, a in layouts.VQA_RAD_ANSWERS.items() if text.startswith(q))


async def start_cli(server: FakeOpenAIServer, cwd: Path, *args: str) -> asyncio.subprocess.Process:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "PYTHONPATH": str(ROOT),  # this checkout's bot package
        "MEDGEMMA_BACKEND": "openai",
        "MEDGEMMA_BASE_URL": server.base_url,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "eval",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_eval_writes_the_documented_json(tmp_path: Path) -> None:
    folder = layouts.vqa_rad(tmp_path / "VQA-RAD")
    async with FakeOpenAIServer(default_reply=vqa_rad_reply) as server:
        process = await start_cli(server, tmp_path, str(folder), "--json", "report.json")
        code, out, err = await finish(process)
    assert code == 0, err
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert (report["format"], report["split"], report["mode"]) == ("vqa-rad", "test", "card")
    assert report["backend"] == "openai" and report["partial"] is False
    assert report["n"] == report["items"] == len(report["records"]) == 5
    for key in ("tokenized_f1", "closed_accuracy"):
        assert isinstance(report[key], float) and 0.0 <= report[key] <= 1.0
    # the same figures as worked out by hand in test_runner: 17/30 and 2/3
    assert report["tokenized_f1"] == pytest.approx(17 / 30)
    assert report["closed_accuracy"] == pytest.approx(2 / 3)
    assert report["card"]["MedGemma 4B-it"] == {"tokenized_f1": 0.499, "closed_accuracy": 0.691}
    for record in report["records"]:
        assert set(record) == RECORD_KEYS
        assert record["question_type"] in ("closed", "open")
        assert all(len(str(value)) < 200 for value in record.values())  # no image data
    assert "| all | 5 | 56.7 | 66.7 (3) |" in out
    assert "5/5" in err  # the progress bar, on stderr
    # the model server saw the card's request: no system turn, a 40-token answer budget
    assert all(b["max_tokens"] == 40 for b in server.requests)
    assert all(m["role"] == "user" for b in server.requests for m in b["messages"])
    default_records = tmp_path / "medgemma-eval-vqa-rad-test-card.jsonl"
    assert len(default_records.read_text(encoding="utf-8").splitlines()) == 1 + 5


async def test_ctrl_c_keeps_partial_results_and_resume_finishes(tmp_path: Path) -> None:
    folder = layouts.vqa_rad(tmp_path / "VQA-RAD")
    records = tmp_path / "records.jsonl"
    args = (str(folder), "--json", "report.json", "--records", str(records), "--concurrency", "1")
    async with FakeOpenAIServer(default_reply=vqa_rad_reply) as server:
        server.reply("Yes.")  # question 1
        server.reply("Yes, it is enlarged.")  # question 2
        server.hang()  # question 3 never ends
        process = await start_cli(server, tmp_path, *args)
        await wait_until(lambda: len(server.requests) == 3, timeout_s=120)
        process.send_signal(signal.SIGINT)
        code, out, _ = await finish(process)
        assert code == 130
        partial = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
        # 1 right (F1 1), 2 wrong (F1 0): F1 1/2, closed 1/2
        assert partial["partial"] is True and (partial["n"], partial["items"]) == (2, 5)
        assert partial["tokenized_f1"] == pytest.approx(0.5)
        assert "interrupted: partial results" in out

        code, out, err = await finish(await start_cli(server, tmp_path, *args, "--resume"))
        assert code == 0, err
        assert len(server.requests) == 3 + 3  # questions 3 to 5 asked again, once each
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["partial"] is False and report["n"] == 5
    assert report["tokenized_f1"] == pytest.approx(17 / 30)


async def test_a_folder_of_no_known_layout_stops_with_one_line(tmp_path: Path) -> None:
    async with FakeOpenAIServer() as server:
        code, _, err = await finish(await start_cli(server, tmp_path, str(tmp_path)))
        assert not server.requests and server.model_listings == 0  # before the model starts
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("medgemma-bot: ") and "--format" in lines[0]
