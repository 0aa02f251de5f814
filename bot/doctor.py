"""`medgemma-bot doctor`: checks settings, Slack tokens and scopes, GPU and model access.

Each check prints one line, OK or what to fix; the exit status is non-zero when any
check fails. Nothing here prints a token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.errors import BotError, ConfigError
from bot.settings import Settings, load_settings

Report = Callable[[bool, str], None]


async def _slack(settings: Settings, report: Report) -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.app import identify
    from bot.slack.manifest import BOT_SCOPES, required_scopes

    if not settings.slack_bot_token:
        report(False, "SLACK_BOT_TOKEN is not set")
        return
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        identity, scopes = await identify(client)
    except ConfigError as exc:
        report(False, exc.detail)
        return
    report(True, f"bot token works (bot user {identity.bot_user_id})")
    missing = sorted(set(BOT_SCOPES) - scopes)
    required = [s for s in missing if s in required_scopes(contact_sheet=settings.contact_sheet)]
    report(
        not required,
        "all bot scopes granted"
        if not missing
        else f"missing scopes: {', '.join(missing)} (add them and reinstall the app)",
    )
    if settings.slack_app_token:
        try:
            await client.apps_connections_open(app_token=settings.slack_app_token)
            report(True, "app-level token opens Socket Mode connections")
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response else "unknown"
            report(False, f"SLACK_APP_TOKEN rejected ({error}): needs connections:write")
    elif not settings.slack_signing_secret:
        report(False, "set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")


def _gpu(report: Report) -> None:
    import torch

    if not torch.cuda.is_available():
        report(False, "no CUDA GPU visible: the transformers backend would run on the CPU (slow)")
        return
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        bf16 = props.major >= 8
        report(
            True,
            f"GPU {i}: {props.name}, {props.total_memory / 2**30:.0f} GiB, "
            f"{'bf16' if bf16 else 'no bf16: fp32 will be used'}",
        )


def _model_access(settings: Settings, report: Report) -> None:
    from huggingface_hub import HfApi

    try:
        HfApi(token=settings.hf_token or None).model_info(
            settings.model, revision=settings.revision or None
        )
        report(True, f"{settings.model} is reachable with the configured HF_TOKEN")
    except Exception as exc:
        from bot.backends.hf.loader import _why_unavailable

        report(False, _why_unavailable(exc, settings.model))


async def _openai(settings: Settings, report: Report) -> None:
    from bot.backends.openai_compat import OpenAIBackend
    from bot.preflight import series_problem

    backend = OpenAIBackend(
        base_url=settings.base_url,
        api_key=settings.api_key,
        model=settings.model,
        timeout_s=min(10.0, settings.server_timeout_s),
        context_tokens=settings.server_context_tokens,
        max_images=settings.server_max_images,
    )
    try:
        await backend.start()
        report(True, f"OpenAI-compatible server answers at {settings.base_url}")
        problem = series_problem(settings, backend.capabilities)
        report(problem is None, problem or "a full CT/MR series fits the server's limits")
    except BotError as exc:
        report(False, exc.detail)
    finally:
        await backend.aclose()


async def doctor(printer: Callable[[str], Any] = print) -> int:
    """Run every check; 0 when all passed."""
    failures = 0

    def report(ok: bool, line: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        printer(f"{'ok  ' if ok else 'FAIL'} {line}")

    try:
        settings = load_settings()
    except ConfigError as exc:
        report(False, exc.detail)
        return 1
    report(True, f"settings valid (backend {settings.backend}, model {settings.model})")
    await _slack(settings, report)
    if settings.backend == "transformers":
        _gpu(report)
        _model_access(settings, report)
    else:
        await _openai(settings, report)
    return 1 if failures else 0
