"""Fixtures of the end-to-end suite."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["socket", "http"])
def transport(request: pytest.FixtureRequest) -> str:
    """Each way Slack delivers events: Socket Mode, then the HTTP Events API."""
    return str(request.param)
