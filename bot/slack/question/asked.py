"""A question on its way to an answer, decided once: where, who asked, its id, their language.

The asker's language is looked up once (users.info) when the work starts, and every
message of the question (status, stream, answer, notice, contact sheet) uses it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.slack.deps import Deps
from bot.slack.question.routing import Route


def new_request_id() -> str:
    """A short id users can quote and operators can find in the logs."""
    return secrets.token_hex(4).upper()


@dataclass(frozen=True)
class Asked:
    """One question being answered: the message and thread, its request id, the language."""

    route: Route
    request_id: str
    language: str

    @classmethod
    async def of(cls, deps: Deps, route: Route, *, request_id: str = "") -> Asked:
        """The question `route` points at, with the asker's language looked up once."""
        language = await deps.names.language(route.user)
        return cls(route=route, request_id=request_id or new_request_id(), language=language)
