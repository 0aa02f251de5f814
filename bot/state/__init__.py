"""What the bot keeps to be reliable: ids only, never content.

Which messages are being answered (so a double delivery or a retry is answered once),
which threads the bot is part of (so a reply in a thread nobody asked the bot into
costs nothing), deletions to cancel, and questions in progress (so a crash leaves no
question unanswered). In one process's memory by default; shared through Redis
(`MEDGEMMA_REDIS_URL`) when several replicas serve a workspace.
"""

from __future__ import annotations

from bot.state.base import Question, State

__all__ = ["Question", "State"]
