"""Fixtures of the end-to-end suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.processes import kill_leftovers


@pytest.fixture(params=["socket", "http"])
def transport(request: pytest.FixtureRequest) -> str:
    """Each way Slack delivers events: Socket Mode, then the HTTP Events API."""
    return str(request.param)


@pytest.fixture(autouse=True)
def no_bot_left_behind() -> Iterator[None]:
    """Whatever a test's outcome, the bot processes it started end with it."""
    yield
    kill_leftovers()
