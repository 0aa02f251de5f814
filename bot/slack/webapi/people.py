"""Names and languages of the people the bot talks to, from users.info.

users.info needs the optional `users:read` scope: without it people are "Person N"
and spoken to in English (or MEDGEMMA_LANGUAGE). Lookups are cached, and questions
arriving together share one call per person.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cachetools import LRUCache
from slack_sdk.web.async_client import AsyncWebClient

from bot.prompts import Prompts, language_for
from bot.slack.webapi.failures import SLACK_FAILURES, slack_code


@dataclass(frozen=True)
class Person:
    """What the bot uses of a Slack user: a display name, their Slack locale, admin or not."""

    name: str | None
    locale: str | None
    admin: bool = False  # a workspace admin or owner (users.info is_admin, is_owner)


# users.info's errors for an id that names nobody the bot may see
# (https://docs.slack.dev/reference/methods/users.info/#errors).
_NOBODY = frozenset({"user_not_found", "user_not_visible"})


class People:
    """Names and languages by user id (users.info; needs the optional users:read scope)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        prompts: Prompts,
        fixed_language: str,
        max_entries: int = 5000,
    ) -> None:
        self._client = client
        self._prompts = prompts
        self._fixed = fixed_language
        self._people: LRUCache[str, Person] = LRUCache(maxsize=max_entries)
        self._asking: dict[str, asyncio.Future[Person]] = {}  # one users.info per user
        self._enabled = True

    async def lookup(self, user_id: str) -> str | None:
        """A user's display name, or None when unknown or not allowed."""
        return (await self._person(user_id)).name

    async def is_admin(self, user_id: str) -> bool:
        """Whether a user is a workspace admin or owner (False when users:read is missing)."""
        return (await self._person(user_id)).admin if user_id else False

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
        except SLACK_FAILURES as exc:
            code = slack_code(exc)  # "": Slack unreachable, so ask again next time
            if code == "missing_scope":
                self._enabled = False  # users:read not granted: "Person N", English
            elif code in _NOBODY:
                self._people[user_id] = Person(None, None)  # asking again finds no one
            return Person(None, None)
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        found = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        locale = user.get("locale")
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        person = Person(str(found) if found else None, str(locale) if locale else None, admin)
        self._people[user_id] = person
        return person
