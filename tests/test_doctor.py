"""`medgemma-bot doctor` against the fake Slack and a fake OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.doctor import doctor
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack import FakeSlack


def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def working_environment(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
    **env: str,
) -> None:
    """Both tokens right and the model server up: what a good set-up looks like."""
    environment(
        monkeypatch,
        tmp_path,
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_APP_TOKEN=fake_slack.app_token,
        SLACK_API_URL=fake_slack.api_url,
        MEDGEMMA_BACKEND="openai",
        MEDGEMMA_BASE_URL=fake_openai.base_url,
        **env,
    )


async def test_all_checks_pass(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_slack.scopes = (*fake_slack.scopes, "users:read")
    working_environment(monkeypatch, tmp_path, fake_slack, fake_openai)
    lines: list[str] = []
    assert await doctor(lines.append) == 0
    assert all(line.startswith("ok") for line in lines), lines
    assert any("all bot scopes granted" in line for line in lines)
    assert not any(fake_slack.bot_token in line or fake_slack.app_token in line for line in lines)


async def test_problems_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.scopes = tuple(s for s in fake_slack.scopes if s != "files:read")
    environment(
        monkeypatch,
        tmp_path,
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_APP_TOKEN="xapp-wrong",
        SLACK_API_URL=fake_slack.api_url,
        MEDGEMMA_BACKEND="openai",
        MEDGEMMA_BASE_URL="http://127.0.0.1:9/v1",
    )
    lines: list[str] = []
    assert await doctor(lines.append) == 1
    failures = [line for line in lines if line.startswith("FAIL")]
    assert any("files:read" in line for line in failures)
    assert any("SLACK_APP_TOKEN rejected" in line for line in failures)
    assert any("cannot reach" in line for line in failures)


async def test_an_unreachable_slack_is_one_line_and_the_rest_still_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_openai: FakeOpenAIServer
) -> None:
    environment(
        monkeypatch,
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_API_URL="http://127.0.0.1:9/api/",
        MEDGEMMA_BACKEND="openai",
        MEDGEMMA_BASE_URL=fake_openai.base_url,
    )
    lines: list[str] = []
    assert await doctor(lines.append) == 1
    [slack] = [line for line in lines if "Slack" in line and line.startswith("FAIL")]
    assert "cannot reach Slack at http://127.0.0.1:9/api/" in slack and "HTTPS_PROXY" in slack
    assert any("OpenAI-compatible server answers" in line for line in lines)  # went on
    assert all("Traceback" not in line for line in lines)


async def test_bad_bot_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    environment(
        monkeypatch,
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-not-valid",
        SLACK_API_URL=fake_slack.api_url,
        MEDGEMMA_BACKEND="openai",
        MEDGEMMA_BASE_URL="http://127.0.0.1:9/v1",
    )
    lines: list[str] = []
    assert await doctor(lines.append) == 1
    assert any("Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in line for line in lines)


@pytest.mark.parametrize(("sheet", "ok"), [("true", False), ("false", True)])
async def test_files_write_is_needed_only_for_the_contact_sheet(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
    sheet: str,
    ok: bool,
) -> None:
    fake_slack.scopes = (*(s for s in fake_slack.scopes if s != "files:write"), "users:read")
    working_environment(
        monkeypatch, tmp_path, fake_slack, fake_openai, MEDGEMMA_CONTACT_SHEET=sheet
    )
    lines: list[str] = []
    assert await doctor(lines.append) == (0 if ok else 1)
    [scopes] = [line for line in lines if "scopes" in line]
    assert scopes.startswith("ok" if ok else "FAIL") and "files:write" in scopes
