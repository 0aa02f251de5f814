"""The command line: manifest, set-up errors, `ask` in the terminal, `bench --tiny`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import cli
from bot.prompts import load_prompts
from bot.settings import DEFAULT_PROMPTS, load_settings
from bot.slack.wiring.manifest import manifest_yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_SCOPES = {
    "app_mentions:read",
    "chat:write",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "files:read",
    "files:write",  # the contact sheet's upload (files.getUploadURLExternal, ...Complete...)
    "users:read",
    "commands",  # the "Ask MedGemma" message shortcut
}
REFERENCE_EVENTS = {
    "app_mention",
    "message.channels",
    "message.groups",
    "message.im",
    "message.mpim",
    "app_home_opened",
}


def test_manifest_matches_the_file_in_deploy(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["manifest"]) == 0
    printed = capsys.readouterr().out
    assert printed == (ROOT / "deploy" / "slack-app-manifest.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(printed)
    assert set(data["oauth_config"]["scopes"]["bot"]) == REFERENCE_SCOPES
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == REFERENCE_EVENTS
    assert data["settings"]["socket_mode_enabled"] is True
    # Socket Mode carries interactions too: no request URL.
    assert data["settings"]["interactivity"] == {"is_enabled": True}
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    [shortcut] = data["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", "ask_medgemma")


def test_http_manifest_has_the_request_url() -> None:
    url = "https://bot.example.org/slack/events"
    data = yaml.safe_load(manifest_yaml(request_url=url))
    assert data["settings"]["event_subscriptions"]["request_url"] == url
    # Bolt serves interaction payloads on the same endpoint as events.
    assert data["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    assert data["settings"]["socket_mode_enabled"] is False


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "Set SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user"}, "starting with xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "Set SLACK_APP_TOKEN"),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_APP_TOKEN": "xapp-1",
                "MEDGEMMA_MAX_BATCH": "lots",
            },
            "MEDGEMMA_MAX_BATCH must be a number",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "MEDGEMMA_DTYPE": "float16"},
            "fp16",
        ),
        (  # a network that lets nothing through: the port is closed
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_APP_TOKEN": "xapp-1",
                "SLACK_API_URL": "http://127.0.0.1:9/api/",
            },
            "cannot reach Slack at http://127.0.0.1:9/api/: the connection was refused or the "
            "host is unreachable; check the network and HTTPS_PROXY",
        ),
        (  # a name that does not resolve (.invalid never does)
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_APP_TOKEN": "xapp-1",
                "SLACK_API_URL": "https://slack.invalid/api/",
            },
            "cannot reach Slack at https://slack.invalid/api/: the host name did not resolve",
        ),
    ],
)
def test_run_stops_with_one_clear_line(tmp_path: Path, env: dict[str, str], says: str) -> None:
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("medgemma-bot: ") and says in lines[0]


async def test_ask_streams_an_answer_with_notes_and_disclaimer(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from bot.backends import create_backend
    from bot.commands.ask.terminal import ask, plain
    from tests.e2e.harness import png_bytes

    image = tmp_path / "cxr.png"
    image.write_bytes(png_bytes())
    settings = load_settings(
        {
            "MEDGEMMA_MODEL": str(tiny_model_dir),
            "MEDGEMMA_DEVICE": "cpu",
            "MEDGEMMA_MAX_NEW_TOKENS": "16",
            "MEDGEMMA_SLOT_TOKENS": "4096",
            "MEDGEMMA_CONTEXT_TOKENS": "4096",
            "MEDGEMMA_MAX_BATCH": "2",
        }
    )
    prompts = load_prompts(DEFAULT_PROMPTS)
    backend = create_backend(settings)
    await backend.start()
    out = io.StringIO()
    follow_ups = iter(["and the heart?", ""])
    try:
        await ask(
            settings=settings,
            prompts=prompts,
            backend=backend,
            images=[image],
            question="what is this?",
            chat=True,
            specialty=None,
            out=out,
            read_line=lambda: next(follow_ups),
        )
    finally:
        await backend.aclose()
    text = out.getvalue()
    shown = plain(prompts.disclaimer)  # the terminal shows no emoji codes
    assert text.count(shown) == 2 and ":information_source:" not in text  # and the follow-up's
    assert "> " in text


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
    # Both paths at every level, in the same run.
    assert set(rows) == {(p, c) for p in ("scheduler", "generate") for c in (1, 3)}
    for row in rows.values():
        assert len(row["runs"]) == report["runs_per_level"] == 2
        assert row["tokens_per_s_per_answer"] > 0 and row["tokens_per_s_total"] > 0
        totals = sorted(run["tokens_per_s_total"] for run in row["runs"])
        assert row["spread_pct"] == pytest.approx(
            (totals[-1] - totals[0]) / row["tokens_per_s_total"] * 100, abs=0.2
        )
        assert row["peak_memory_gib"] is None  # no GPU here
    assert rows[("scheduler", 1)]["ttft_ms"] > 0 and rows[("generate", 1)]["ttft_ms"] is None
    assert set(report["speedup"]) == {"1", "3"}
    compiled = report["compile"]
    assert report["compiled"] is False and compiled["graphs"] == 0
    assert compiled["recompiles_while_serving"] == 0 and compiled["fallbacks"] == 0
    memory = report["memory"]
    assert 0 < memory["estimate_gib"]["total"] < 1 and memory["peak_gib"] is None
    check = report["check"]
    assert check["finite"] and check["same_argmax"] and check["relative_error"] < 1e-4
    printed = capsys.readouterr().out
    assert "| scheduler | 3 |" in printed and "| generate | 3 |" in printed
    assert "relative error" in printed


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
    assert {r["path"] for r in report["results"]} == {"scheduler", "generate"}
    assert report["check"]["finite"]
    assert "| scheduler | 1 |" in (out / "bench.log").read_text(encoding="utf-8")
    assert "torch" in (out / "environment.txt").read_text(encoding="utf-8")
