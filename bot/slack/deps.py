"""Everything the Slack listeners need, built once at start-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cachetools import LRUCache
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pipeline import Pipeline
from bot.prompts import Prompts
from bot.service.metrics import Metrics
from bot.service.probes import Health
from bot.settings import Settings
from bot.slack.files import SlackDownloads
from bot.slack.history import Identity
from bot.slack.jobs import Jobs
from bot.slack.waits import Arrivals, ThreadTurns
from bot.state import State

log = logging.getLogger(__name__)


class UserNames:
    """Display names by user id (needs the optional users:read scope), kept in memory."""

    def __init__(self, client: AsyncWebClient, *, max_entries: int = 5000) -> None:
        self._client = client
        self._names: LRUCache[str, str | None] = LRUCache(maxsize=max_entries)
        self._enabled = True

    async def lookup(self, user_id: str) -> str | None:
        """A user's display name, or None when unknown or not allowed."""
        if user_id in self._names:
            name: str | None = self._names[user_id]
            return name
        if not self._enabled:
            return None
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            if exc.response is not None and exc.response.get("error") == "missing_scope":
                self._enabled = False  # users:read not granted: speakers stay "Person N"
            return None
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        found = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        self._names[user_id] = str(found) if found else None
        return self._names[user_id]


@dataclass(frozen=True)
class Deps:
    """The Slack front's collaborators."""

    settings: Settings
    prompts: Prompts
    client: AsyncWebClient
    status_client: AsyncWebClient  # no waiting out rate limits: a late status is useless
    identity: Identity
    downloads: SlackDownloads
    pipeline: Pipeline
    jobs: Jobs
    state: State
    names: UserNames
    turns: ThreadTurns
    arrivals: Arrivals
    replica: str  # this process, in the state's records
    metrics: Metrics  # this app's registry: tests build their own
    health: Health  # what the readiness probe reports
