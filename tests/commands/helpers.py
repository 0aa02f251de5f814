"""Helpers shared by the commands' tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> None:
    """Run in `tmp_path` (no stray .env) with only `env` of the bot's own variables."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("SLACK_", "MEDGEMMA_", "HF_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
