"""`medgemma-bot doctor`: checks settings, Slack tokens and scopes, Redis, GPU and model access.

Each check prints one line: `ok`, `warn` (worth a look, the bot still runs) or `FAIL`
followed by what to do. The exit status is non-zero when any check fails. Nothing here
prints a token, and a URL only as scheme, host and port.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from bot.commands.doctor.environment import placeholders, unknown_names, variables
from bot.errors import ConfigError
from bot.settings import Settings, declared, load_settings


class Checks:
    """Prints one line per check and counts the failures."""

    def __init__(self, printer: Callable[[str], Any]) -> None:
        self._printer = printer
        self.failures = 0

    def ok(self, line: str) -> None:
        """A check that passed."""
        self._printer(f"ok   {line}")

    def warn(self, line: str) -> None:
        """Something to look at that does not stop the bot."""
        self._printer(f"warn {line}")

    def fail(self, line: str) -> None:
        """A check that failed; `line` ends with what to do."""
        self.failures += 1
        self._printer(f"FAIL {line}")

    def report(self, passed: bool, line: str) -> None:
        """`ok` or `FAIL` as `passed` says."""
        (self.ok if passed else self.fail)(line)


def _gpu(checks: Checks, *, device: str) -> None:
    import torch

    if not torch.cuda.is_available() and device == "cpu":
        checks.warn("MEDGEMMA_DEVICE=cpu: answers take minutes (fine for trying the bot out)")
        return
    if not torch.cuda.is_available():
        checks.fail(
            "no CUDA GPU visible: the transformers backend would run on the CPU (slow); "
            "install the NVIDIA driver and a CUDA build of torch, or use a model server "
            "(MEDGEMMA_BACKEND=openai)"
        )
        return
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        bf16 = props.major >= 8
        checks.ok(
            f"GPU {i}: {props.name}, {props.total_memory / 2**30:.0f} GiB, "
            f"{'bf16' if bf16 else 'no bf16: fp32 will be used'}"
        )


def _settings(checks: Checks) -> tuple[Settings | None, set[str]]:
    """The settings (None when invalid) and the names still set to .env.example placeholders."""
    names = [item.env for item in declared()]
    found = variables()
    for line in unknown_names(found, names):
        checks.warn(line)
    copied = placeholders(found, names)
    for line in copied.values():
        checks.fail(line)
    try:
        settings = load_settings()
    except ConfigError as exc:
        checks.fail(f"{exc.detail}; change it in the environment or .env")
        return None, set(copied)
    checks.ok(f"settings valid (backend {settings.backend}, model {settings.model})")
    _abilities(settings.model, checks)
    # A placeholder is reported above; checking with it would only fail again, less clearly.
    if "HF_TOKEN" in copied:
        settings = dataclasses.replace(settings, hf_token="")
    if "MEDGEMMA_REVISION" in copied:
        settings = dataclasses.replace(settings, revision="")
    return settings, set(copied)


def _abilities(model: str, checks: Checks) -> None:
    """Advice on the model, for whoever runs the bot (answers never carry it)."""
    from bot.pipeline.abilities import ABLE_MODEL, can_localise

    if not can_localise(model):
        checks.warn(
            f"MEDGEMMA_MODEL={model} is taken for MedGemma 1: it draws no boxes on chest "
            "X-rays, compares no film with its prior and was not trained on CT/MRI volumes "
            f"or whole slides; set MEDGEMMA_MODEL={ABLE_MODEL} for these (README: which "
            "abilities need MedGemma 1.5)"
        )


async def doctor(printer: Callable[[str], Any] = print) -> int:
    """Run every check; 0 when none failed."""
    from bot.commands.doctor.servers import check_openai, check_redis
    from bot.commands.doctor.slack import check_slack

    checks = Checks(printer)
    settings, copied = _settings(checks)
    if settings is None:
        return 1
    await _guarded("Slack", check_slack(settings, checks, placeholders=copied), checks)
    if settings.redis_url:
        await _guarded("Redis", check_redis(settings.redis_url, checks), checks)
    if settings.backend == "transformers":
        from bot.commands.doctor.model import check_model

        _gpu(checks, device=settings.device)
        await _guarded("model", check_model(settings, checks), checks)
    else:
        await _guarded("model server", check_openai(settings, checks), checks)
    return 1 if checks.failures else 0


async def _guarded(name: str, check: Awaitable[None], checks: Checks) -> None:
    """Run one check; a failure nobody foresaw is one line, and the other checks still run."""
    try:
        await check
    except Exception as exc:
        checks.fail(
            f"the {name} check stopped unexpectedly ({type(exc).__name__}): please report it, "
            "with the output of this command"
        )
