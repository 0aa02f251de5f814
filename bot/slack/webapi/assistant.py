"""Slack's assistant thread methods: suggested prompts and thread titles, best effort.

assistant.threads.setSuggestedPrompts and .setTitle need `assistant:write`, which comes
with the manifest's `agent_view` (or `assistant_view`). Where the app is an agent (the
default, MEDGEMMA_SLACK_VIEW=agent), prompts go to the conversation without a thread:
"Including [thread_ts] in a call for an agent app will cause the call to silently fail"
(docs.slack.dev/reference/methods/assistant.threads.setSuggestedPrompts). The legacy
Assistant view sets them on its thread. A token or workspace without the feature is
told once in the logs and not asked again; a passing failure only skips that call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import event
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code

log = logging.getLogger(__name__)

TITLE_LIMIT = 200  # agents.sessions titles: "max 200 characters"; Slack cuts longer ones
# Answers meaning "not here, not with this token": stop asking.
_UNAVAILABLE = frozenset(
    {
        "missing_scope",
        "not_allowed_token_type",
        "method_not_supported",
        "feature_not_enabled",
        "not_allowed",
        "restricted_action",
    }
)


class AssistantThreads:
    """Suggested prompts and titles for the bot's conversations, where Slack offers them."""

    def __init__(self, client: AsyncWebClient, *, view: str) -> None:
        self._client = client
        self.view = view  # "agent" or "assistant", as the manifest declares
        self.enabled = True

    async def suggest(
        self,
        *,
        channel: str,
        thread_ts: str,
        title: str,
        prompts: Sequence[dict[str, str]],
    ) -> bool:
        """Offer `prompts` (up to four) in a DM; in the agent view, for the whole tab."""
        if not self.enabled or not prompts:
            return False
        thread = {"thread_ts": thread_ts} if self.view == "assistant" and thread_ts else {}
        return await self._call(
            "prompts",
            self._client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, title=title, prompts=list(prompts[:4]), **thread
            ),
        )

    async def title(self, *, channel: str, thread_ts: str, title: str) -> bool:
        """Name a DM thread as its history list shows it."""
        if not self.enabled or not title.strip():
            return False
        cut = title.strip()[:TITLE_LIMIT]
        return await self._call(
            "title",
            self._client.assistant_threads_setTitle(
                channel_id=channel, thread_ts=thread_ts, title=cut
            ),
        )

    async def _call(self, what: str, call: Awaitable[Any]) -> bool:
        try:
            await call
        except SLACK_FAILURES as exc:
            code = failure_code(exc)
            if code in _UNAVAILABLE:
                self.enabled = False
                event(log, "assistant_unavailable", level=logging.WARNING, error=code)
            else:
                event(log, "assistant_skipped", level=logging.WARNING, what=what, error=code)
            return False
        return True
