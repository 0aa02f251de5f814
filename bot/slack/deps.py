"""Everything the Slack listeners need, built once at start-up."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
from cachetools import LRUCache
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pipeline.pipeline import Pipeline
from bot.prompts import Prompts, language_for
from bot.service.metrics import Metrics
from bot.service.probes import Health
from bot.settings import Settings
from bot.slack.jobs import Jobs
from bot.slack.question.history import Identity
from bot.slack.waits import Arrivals, ThreadTurns
from bot.slack.webapi.budget import StreamBudget
from bot.slack.webapi.files import SlackDownloads
from bot.state import State

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    """What the bot uses of a Slack user: a display name and their Slack locale."""

    name: str | None
    locale: str | None


# users.info's errors for an id that names nobody the bot may see
# (https://docs.slack.dev/reference/methods/users.info/#errors).
_NOBODY = frozenset({"user_not_found", "user_not_visible"})


class People:
    """Names and languages by user id (users.info; needs the optional users:read scope)."""

    def __init__(
        self, client: AsyncWebClient, *, prompts: Prompts, fixed_language: str,
        max_entries: int = 5000,
    ) -> None:  # fmt: skip
        self._client = client
        self._prompts = prompts
        self._fixed = fixed_language
        self._people: LRUCache[str, Person] = LRUCache(maxsize=max_entries)
        self._asking: dict[str, asyncio.Future[Person]] = {}  # one users.info per user
        self._enabled = True

    async def lookup(self, user_id: str) -> str | None:
        """A user's display name, or None when unknown or not allowed."""
        return (await self._person(user_id)).name

    async def language(self, user_id: str) -> str:
        """The catalog to speak to this user in (MEDGEMMA_LANGUAGE, else their locale)."""
        if self._fixed != "auto":
            return self._fixed
        locale = (await self._person(user_id)).locale if user_id else None
        return language_for(locale, fixed="auto", available=self._prompts.languages)

    async def _person(self, user_id: str) -> Person:
        if user_id in self._people:
            known: Person = self._people[user_id]
            return known
        if not self._enabled:
            return Person(None, None)
        asking = self._asking.get(user_id)
        if asking is None:  # questions arriving together share one lookup
            asking = self._asking[user_id] = asyncio.ensure_future(self._fetch(user_id))
            asking.add_done_callback(lambda _: self._asking.pop(user_id, None))
        return await asyncio.shield(asking)  # one asker cancelled cancels no other

    async def _fetch(self, user_id: str) -> Person:
        try:
            response = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            code = exc.response.get("error") if exc.response is not None else None
            if code == "missing_scope":
                self._enabled = False  # users:read not granted: "Person N", English
            elif code in _NOBODY:
                self._people[user_id] = Person(None, None)  # asking again finds no one
            return Person(None, None)
        except (aiohttp.ClientError, TimeoutError):
            return Person(None, None)  # Slack unreachable: ask again next time
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        found = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        locale = user.get("locale")
        person = Person(str(found) if found else None, str(locale) if locale else None)
        self._people[user_id] = person
        return person


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
    names: People
    turns: ThreadTurns
    arrivals: Arrivals
    replica: str  # this process, in the state's records
    stream_budget: StreamBudget
    metrics: Metrics  # this app's registry: tests build their own
    health: Health  # what the readiness probe reports
