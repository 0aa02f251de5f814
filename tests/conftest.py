"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.prompts import Prompts, load_prompts
from bot.settings import DEFAULT_PROMPTS
from tests.fakes.hub import fake_hub, hf_cache  # noqa: F401
from tests.fakes.openai_server import fake_openai  # noqa: F401
from tests.fakes.slack import fake_slack  # noqa: F401
from tests.redis_server import redis_url  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    """The imaging libraries set up as every front sets them at start-up.

    Their warnings are filtered again by pyproject.toml for each test (pytest resets the
    filters per test); their loggers stay silenced for the whole session.
    """
    from bot.imaging import configure

    configure()


@pytest.fixture(scope="session")
def prompts() -> Prompts:
    """The real prompts folder."""
    return load_prompts(DEFAULT_PROMPTS)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Gemma 3 model and processor saved like a Hub checkpoint."""
    from bot.backends.hf.synthetic import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-gemma3"))
