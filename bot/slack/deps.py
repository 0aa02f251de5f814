"""Everything the Slack listeners need, built once at start-up."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pipeline import Pipeline
from bot.prompts import Prompts
from bot.settings import Settings
from bot.slack.dedupe import Seen
from bot.slack.files import SlackFiles
from bot.slack.history import Identity
from bot.slack.jobs import Jobs

log = logging.getLogger(__name__)


class UserNames:
    """Display names by user id (needs the optional users:read scope), kept in memory."""

    def __init__(self, client: AsyncWebClient, *, max_entries: int = 5000) -> None:
        self._client = client
        self._max = max_entries
        self._names: OrderedDict[str, str | None] = OrderedDict()
        self._enabled = True

    async def lookup(self, user_id: str) -> str | None:
        """A user's display name, or None when unknown or not allowed."""
        if user_id in self._names:
            return self._names[user_id]
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
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        self._names[user_id] = str(name) if name else None
        if len(self._names) > self._max:
            self._names.popitem(last=False)
        return self._names[user_id]


@dataclass(frozen=True)
class Deps:
    """The Slack front's collaborators."""

    settings: Settings
    prompts: Prompts
    client: AsyncWebClient
    identity: Identity
    files: SlackFiles
    pipeline: Pipeline
    jobs: Jobs
    seen: Seen
    names: UserNames
