"""The command line: manifest, set-up errors, `ask` in the terminal; bench in tests/commands."""

from __future__ import annotations

import io
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
    "assistant:write",  # suggested prompts and DM thread titles (agent_view)
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
    agent = data["features"]["agent_view"]
    assert "assistant_view" not in data["features"]
    assert 0 < len(agent["agent_description"]) <= 300
    assert [p["title"] for p in agent["suggested_prompts"]] == [
        "Describe this X-ray",
        "Explain for a student",
        "What to check on this CT",
        "Compare with the prior",
    ]


def test_the_legacy_assistant_view_for_workspaces_not_yet_migrated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["manifest", "--view", "assistant"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert "agent_view" not in data["features"]
    view = data["features"]["assistant_view"]
    assert view["assistant_description"] and len(view["suggested_prompts"]) == 4
    events = data["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == REFERENCE_EVENTS | {"assistant_thread_started"}


def test_a_long_name_gets_a_shortcut_name_slack_accepts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["manifest", "--name", "Radiology Teaching Bot"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert data["display_information"]["name"] == "Radiology Teaching Bot"
    [shortcut] = data["features"]["shortcuts"]
    assert shortcut["name"] == "Ask about images"  # "Ask Radiology Teaching Bot" is 26
    assert len(shortcut["name"]) <= 24


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--name", "R" * 36], "--name must be 1 to 35"),
        (["--name", "  "], "--name must be 1 to 35"),
        (["--request-url", "http://bot.example.org/slack/events"], "https URL"),
        (["--request-url", "bot.example.org"], "https URL"),
    ],
)
def test_manifest_options_slack_would_reject_are_refused(
    capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    assert cli.main(["manifest", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert says in captured.err


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
