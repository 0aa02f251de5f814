"""`medgemma-bot bench`: the documented JSON report on the tiny model, a failed check, and
scripts/gpu-check on a box without the bot's other dependencies."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli

ROOT = Path(__file__).resolve().parents[3]


def test_bench_tiny_writes_the_documented_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bench.json"
    code = cli.main(
        [
            "bench",
            "--tiny",
            "--concurrency",
            "1,3",
            "--new-tokens",
            "8",
            "--prompt-tokens",
            "60",
            "--device",
            "cpu",
            "--json",
            str(target),
        ]
    )
    assert code == 0
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["model"] == "tiny random Gemma 3" and report["new_tokens"] == 8
    assert report["device"] == "cpu" and report["dtype"] == "float32"
    assert report["torch"] and report["transformers"]
    assert report["prompt_tokens"] >= 60
    rows = {(r["path"], r["concurrency"]): r for r in report["results"]}
    # The engine and the static-cache generate() path at every level, in the same run.
    assert set(rows) == {(p, c) for p in ("scheduler", "static") for c in (1, 3)}
    for row in rows.values():
        assert len(row["runs"]) == report["runs_per_level"] == 2
        assert row["tokens_per_s_per_answer"] > 0 and row["tokens_per_s_total"] > 0
        totals = sorted(run["tokens_per_s_total"] for run in row["runs"])
        assert row["spread_pct"] == pytest.approx(
            (totals[-1] - totals[0]) / statistics.median(totals) * 100, abs=0.1
        )
        assert row["peak_memory_gib"] is None  # no GPU here
    assert rows[("scheduler", 1)]["ttft_ms"] > 0 and rows[("static", 1)]["ttft_ms"] > 0
    # The static path runs once unmeasured first (on a GPU, where it compiles).
    assert rows[("static", 3)]["warmup_s"] > 0 and rows[("scheduler", 3)]["warmup_s"] is None
    assert report["static_compiled"] is False  # transformers compiles generate() on GPUs only
    assert set(report["speedup"]) == {"static"} and set(report["speedup"]["static"]) == {"1", "3"}
    # The decision rule needs concurrency 8 on a GPU: no verdict here.
    assert report["decision"]["ratio"] is None and report["decision"]["verdict"].startswith("none")
    compiled = report["compile"]
    assert report["compiled"] is False and compiled["graphs"] == 0
    assert compiled["recompiles_while_serving"] == 0 and compiled["fallbacks"] == 0
    memory = report["memory"]
    assert 0 < memory["estimate_gib"]["total"] < 1 and memory["peak_gib"] is None
    check = report["check"]
    assert check["finite"] and check["same_argmax"] and check["relative_error"] < 1e-4
    printed = capsys.readouterr().out
    assert "| scheduler | 3 |" in printed and "| static | 3 |" in printed
    assert "relative error" in printed and "decision (scheduler >= 1.5x static" in printed


def test_bench_fails_when_the_served_step_is_not_finite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.backends.hf.check import StepCheck
    from bot.commands.bench import command as bench

    nan = float("nan")
    broken = StepCheck(nan, nan, same_argmax=False, compiled=False, reference_device="cpu")
    monkeypatch.setattr(bench, "check_step", lambda engine, prompt: broken)
    target = tmp_path / "bench.json"
    args = ["bench", "--tiny", "--concurrency", "1", "--new-tokens", "2", "--device", "cpu"]
    code = cli.main([*args, "--no-baseline", "--json", str(target)])
    assert code == 1
    assert "bench check failed" in capsys.readouterr().err
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["check"]["finite"] is False and report["check"]["relative_error"] is None


# What a GPU box lacks: the bot's Slack, DICOM, OpenAI and .env dependencies.
BLOCKER = """
import importlib.abc, os, runpy, sys

BLOCKED = {"slack_sdk", "slack_bolt", "aiohttp", "pydicom", "pylibjpeg", "pillow_heif",
           "openai", "dotenv", "cachetools", "skimage", "redis"}

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None

sys.meta_path.insert(0, Blocker())
for name in [m for m in sys.modules if m.partition(".")[0] in BLOCKED]:
    del sys.modules[name]
sys.path.insert(0, os.getcwd())
if sys.argv[1] == "-m":
    sys.argv = [sys.argv[2], *sys.argv[3:]]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    exec(compile(sys.stdin.read(), "<stdin>", "exec"))
"""


def test_gpu_check_runs_bench_without_the_bots_other_dependencies(tmp_path: Path) -> None:
    (tmp_path / "blocked.py").write_text(BLOCKER, encoding="utf-8")
    python = tmp_path / "python3"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} {tmp_path / "blocked.py"} "$@"\n')
    python.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": str(python)}
    refused = subprocess.run(
        [str(python), "-"], input="import dotenv", env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "blocked" in refused.stderr  # the blocker works
    out = tmp_path / "out"
    bench = ["--tiny", "--device", "cpu", "--concurrency", "1", "--new-tokens", "4"]
    result = subprocess.run(
        [str(ROOT / "scripts" / "gpu-check"), str(out), *bench, "--prompt-tokens", "40"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    report = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert {r["path"] for r in report["results"]} == {"scheduler", "static"}
    assert report["check"]["finite"]
    assert "| scheduler | 1 |" in (out / "bench.log").read_text(encoding="utf-8")
    assert "torch" in (out / "environment.txt").read_text(encoding="utf-8")


def test_bench_paths_add_plain_generate_and_refuse_unknown_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bench.json"
    args = ["bench", "--tiny", "--device", "cpu", "--concurrency", "1", "--new-tokens", "2"]
    code = cli.main([*args, "--paths", "scheduler,generate", "--json", str(target)])
    assert code == 0
    report = json.loads(target.read_text(encoding="utf-8"))
    assert {r["path"] for r in report["results"]} == {"scheduler", "generate"}
    assert set(report["speedup"]) == {"generate"}
    assert cli.main([*args, "--paths", "scheduler,vllm"]) == 2
    assert "unknown path" in capsys.readouterr().err


def test_a_failing_library_path_leaves_the_engines_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.commands.bench import command as bench

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("cudagraph trees")

    monkeypatch.setattr(bench, "static_wave", broken)
    target = tmp_path / "bench.json"
    args = ["bench", "--tiny", "--device", "cpu", "--concurrency", "1,2", "--new-tokens", "2"]
    assert cli.main([*args, "--json", str(target)]) == 0
    report = json.loads(target.read_text(encoding="utf-8"))
    assert [(r["path"], r["concurrency"]) for r in report["results"]] == [
        ("scheduler", 1),
        ("scheduler", 2),
    ]
    assert report["failed"] == {"static": "RuntimeError at concurrency 1"}
    captured = capsys.readouterr()
    assert "static failed (RuntimeError at concurrency 1)" in captured.out
    assert "cudagraph trees" in captured.err  # the traceback, for the log
