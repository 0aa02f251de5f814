"""`medgemma-bot doctor` against the fake Slack, a fake OpenAI-compatible server and a real
Redis: settings, names that are not settings, README placeholders, and URLs shown without
their credentials."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bot.commands.doctor import doctor
from tests.commands.helpers import environment
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack import FakeSlack


def working_environment(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
    **env: str,
) -> None:
    """Both tokens right and the model server up: what a good set-up looks like."""
    working = {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_APP_TOKEN": fake_slack.app_token,
        "SLACK_API_URL": fake_slack.api_url,
        "MEDGEMMA_BACKEND": "openai",
        "MEDGEMMA_BASE_URL": fake_openai.base_url,
    }
    environment(monkeypatch, tmp_path, **{**working, **env})


async def test_all_checks_pass(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_slack.scopes = (*fake_slack.scopes, "users:read", "assistant:write")
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
    assert any("Slack rejected SLACK_APP_TOKEN" in line for line in failures)
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
    assert "cannot reach Slack at http://127.0.0.1:9:" in slack and "HTTPS_PROXY" in slack
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
    fake_slack.scopes = (
        *(s for s in fake_slack.scopes if s != "files:write"),
        "users:read",
        "assistant:write",
    )
    working_environment(
        monkeypatch, tmp_path, fake_slack, fake_openai, MEDGEMMA_CONTACT_SHEET=sheet
    )
    lines: list[str] = []
    assert await doctor(lines.append) == (0 if ok else 1)
    [scopes] = [line for line in lines if "scopes" in line]
    # Without the contact sheet the scope is optional: worth a warning, not a failure.
    assert scopes.startswith("warn" if ok else "FAIL") and "files:write" in scopes
    assert scopes.endswith("reinstall the app")


async def test_redis_answers_ping(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
    redis_url: str,
) -> None:
    fake_slack.scopes = (*fake_slack.scopes, "users:read", "assistant:write")
    working_environment(
        monkeypatch, tmp_path, fake_slack, fake_openai, MEDGEMMA_REDIS_URL=redis_url
    )
    lines: list[str] = []
    assert await doctor(lines.append) == 0
    assert f"ok   Redis answers PING at {redis_url}" in lines


async def test_an_unreachable_redis_fails_quickly_naming_the_host_only(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
) -> None:
    url = "redis://admin:hunter2@127.0.0.1:9/0?password=hunter3"
    working_environment(monkeypatch, tmp_path, fake_slack, fake_openai, MEDGEMMA_REDIS_URL=url)
    lines: list[str] = []
    started = time.monotonic()
    assert await doctor(lines.append) == 1
    assert time.monotonic() - started < 10
    [redis] = [line for line in lines if "Redis" in line]
    assert redis.startswith("FAIL cannot reach Redis at redis://127.0.0.1:9 (")
    assert redis.endswith("check MEDGEMMA_REDIS_URL and that the server runs")
    assert not any("hunter" in line or "admin" in line for line in lines)


def with_credentials(url: str) -> str:
    """`url` with a user, a password and a query that must never be printed."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://alice:s3cr3t@{rest}?password=s3cr3t"


async def test_urls_are_printed_as_scheme_host_and_port_only(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
) -> None:
    server = with_credentials(fake_openai.base_url)
    working_environment(monkeypatch, tmp_path, fake_slack, fake_openai, MEDGEMMA_BASE_URL=server)
    lines: list[str] = []
    await doctor(lines.append)
    host = re.match(r"http://[^/]+", fake_openai.base_url)
    assert host is not None
    assert f"ok   OpenAI-compatible server answers at {host.group()}" in lines
    assert not any("s3cr3t" in line or "alice" in line for line in lines), lines


@pytest.mark.parametrize("variable", ["SLACK_API_URL", "MEDGEMMA_BASE_URL", "MEDGEMMA_REDIS_URL"])
async def test_a_failing_url_is_printed_without_its_credentials(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
    variable: str,
) -> None:
    closed = {
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "MEDGEMMA_BASE_URL": "http://127.0.0.1:9/v1",
        "MEDGEMMA_REDIS_URL": "redis://127.0.0.1:9/0",
    }[variable]
    working_environment(
        monkeypatch, tmp_path, fake_slack, fake_openai, **{variable: with_credentials(closed)}
    )
    lines: list[str] = []
    assert await doctor(lines.append) == 1
    [failure] = [line for line in lines if line.startswith("FAIL")]
    assert "127.0.0.1:9" in failure
    assert not any("s3cr3t" in line or "alice" in line for line in lines), lines


async def test_names_that_are_not_settings_are_warnings_with_a_guess(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_slack.scopes = (*fake_slack.scopes, "users:read", "assistant:write")
    (tmp_path / ".env").write_text(
        "MEDGEMMA_MAX_BACH=4\nSLACK_BOT_TOKN=xoxb-2\nSLACK_CLIENT_ID=123.456\n", encoding="utf-8"
    )
    working_environment(
        monkeypatch,
        tmp_path,
        fake_slack,
        fake_openai,
        MEDGEMMA_MODLE="google/medgemma-27b-it",
        medgemma_language="fr",
        MEDGEMMA_COLOUR="blue",
    )
    lines: list[str] = []
    assert await doctor(lines.append) == 0  # warnings only
    warnings = [line for line in lines if line.startswith("warn ")]
    said = "is not a setting the bot reads"
    assert warnings == [
        f"warn MEDGEMMA_COLOUR (in the environment) {said}: see the README's configuration table",
        f"warn MEDGEMMA_MAX_BACH (in .env) {said}: did you mean MEDGEMMA_MAX_BATCH?",
        f"warn MEDGEMMA_MODLE (in the environment) {said}: did you mean MEDGEMMA_MODEL?",
        f"warn SLACK_BOT_TOKN (in .env) {said}: did you mean SLACK_BOT_TOKEN?",
        f"warn medgemma_language (in the environment) {said}: did you mean MEDGEMMA_LANGUAGE?",
    ]  # SLACK_CLIENT_ID may be another app's: not ours to judge


def example_env() -> str:
    """`.env.example`, as the quick start has a reader copy it to `.env`."""
    example = Path(__file__).resolve().parents[3] / ".env.example"
    text = example.read_text(encoding="utf-8")
    assert "SLACK_BOT_TOKEN=xoxb-..." in text
    return text


async def test_values_copied_from_the_readme_are_named(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
) -> None:
    (tmp_path / ".env").write_text(example_env(), encoding="utf-8")
    environment(
        monkeypatch,
        tmp_path,
        SLACK_API_URL=fake_slack.api_url,
        MEDGEMMA_BACKEND="openai",
        MEDGEMMA_BASE_URL=fake_openai.base_url,
    )
    lines: list[str] = []
    assert await doctor(lines.append) == 1
    copied = [line for line in lines if "still .env.example's placeholder" in line]
    assert [line.split()[1] for line in copied] == [
        "HF_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_BOT_TOKEN",
    ]
    assert all(line.startswith("FAIL") and "(in .env)" in line for line in copied)
    assert "paste the Bot User OAuth Token" in copied[-1]
    # The placeholder token is not sent to Slack only to be refused.
    assert not any("Slack rejected" in line for line in lines)
    assert not any(method == "auth.test" for method, _ in fake_slack.calls)


@pytest.mark.parametrize(
    ("device", "said"),
    [
        ("auto", "FAIL no CUDA GPU visible"),
        ("cpu", "warn MEDGEMMA_DEVICE=cpu: answers take minutes"),
    ],
)
async def test_the_cpu_chosen_on_purpose_is_a_warning_not_a_failure(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    tiny_model_dir: Path,
    device: str,
    said: str,
) -> None:
    import torch

    if torch.cuda.is_available():  # the check is about machines without a GPU
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    working = {"SLACK_BOT_TOKEN": fake_slack.bot_token, "SLACK_APP_TOKEN": fake_slack.app_token}
    environment(
        monkeypatch,
        tmp_path,
        **working,
        SLACK_API_URL=fake_slack.api_url,
        MEDGEMMA_MODEL=str(tiny_model_dir),
        MEDGEMMA_DEVICE=device,
    )
    lines: list[str] = []
    await doctor(lines.append)
    assert any(line.startswith(said) for line in lines), lines


async def test_medgemma_1_is_advised_to_whoever_runs_the_bot(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_openai.models.append("google/medgemma-4b-it")
    model = "google/medgemma-4b-it"
    working_environment(monkeypatch, tmp_path, fake_slack, fake_openai, MEDGEMMA_MODEL=model)
    lines: list[str] = []
    assert await doctor(lines.append) == 0  # advice, not a failure
    [advice] = [line for line in lines if "MedGemma 1" in line]
    assert advice.startswith(f"warn MEDGEMMA_MODEL={model} is taken for MedGemma 1")
    assert "draws no boxes" in advice and "MEDGEMMA_MODEL=google/medgemma-1.5-4b-it" in advice
