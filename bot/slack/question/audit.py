"""One audit event per question, and the metrics of its flow: ids, counts and timings only.

The event `question_audit` (logger `bot.audit`, logged whatever LOG_LEVEL says) holds
who asked (user id), where (channel id, thread and message ts), when (`asked_at`, the
message's time; `started_at`), the request id, the replica and attempt, how many files,
images and series slices, the outcome (with the error's class name) and the timings.
Filtering the logs on it answers "who used the bot on which channel last month". It
never holds message text, file names, image data or names of people.

Outcomes: answered, error (a BotError: the user got its message), crashed (anything
else: the generic message), interrupted (shutdown: "please ask again"), deleted (the
question was deleted: no reply), stopped (its Stop button: one "stopped" line), merged
(a DM image answered with the question that followed it), busy (refused: "busy, try
again"), and for questions a stopped replica left: already_answered, ask_again (see
recovery.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.backends.base import QueueCallback
from bot.errors import BotError
from bot.logs import AUDIT_LOGGER, event
from bot.pipeline.messages import AnswerStats
from bot.service.metrics import Metrics
from bot.slack.deps import Deps
from bot.slack.jobs import SHUTDOWN, STOPPED
from bot.slack.question.routing import Route
from bot.state import Question

audit_log = logging.getLogger(AUDIT_LOGGER)


def utc(unix: float | str) -> str:
    """A Unix time (or Slack ts) as ISO 8601 UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(unix)))


@dataclass
class QuestionRecord:
    """What one question did, filled in as it goes; logged and counted when it ends."""

    question: Question
    metrics: Metrics
    files: int = 0
    outcome: str = "answered"
    error: str = ""  # the exception's class name, never its text
    stats: AnswerStats = field(default_factory=AnswerStats)
    answer_s: float | None = None  # from the start to the posted answer
    started: float = field(default_factory=time.monotonic)
    _waiting: bool = False

    def watch(self, forward: QueueCallback) -> QueueCallback:
        """A queue callback that keeps the waiting gauge, then calls `forward`."""

        def on_position(place: int) -> None:
            self._wait(place > 0)
            forward(place)

        return on_position

    def answered(self, stats: AnswerStats) -> None:
        """The model's counts and timings for this question."""
        self.stats = stats

    def posted(self) -> None:
        """The answer is in the thread."""
        self.answer_s = round(time.monotonic() - self.started, 3)

    def _wait(self, waiting: bool) -> None:
        if waiting != self._waiting:
            self._waiting = waiting
            self.metrics.waiting.inc() if waiting else self.metrics.waiting.dec()

    def close(self) -> None:
        """Count the question and write its audit event."""
        self._wait(False)
        self.metrics.outcome(self.outcome, error=self.error)
        if self.outcome == "answered":
            self.metrics.answered(self.stats)
        if self.answer_s is not None:
            self.metrics.answer_time.observe(self.answer_s)
        audit(
            self.question,
            outcome=self.outcome,
            error=self.error,
            files=self.files,
            images=self.stats.images,
            slices=self.stats.slices,
            seconds=round(time.monotonic() - self.started, 3),
            first_token_s=self.stats.first_token_s,
            queue_wait_s=self.stats.queue_wait_s,
            generation_s=self.stats.generation_s,
            answer_s=self.answer_s,
            tokens=self.stats.tokens,
        )


def audit(question: Question, *, outcome: str, **fields: Any) -> None:
    """Write the question's audit event."""
    event(
        audit_log,
        "question_audit",
        user=question.user,
        channel=question.channel,
        thread_ts=question.thread_ts,
        message_ts=question.ts,
        asked_at=utc(question.ts),
        started_at=utc(question.started_at),
        request_id=question.request_id,
        replica=question.owner,
        attempt=question.attempt,
        outcome=outcome,
        **fields,
    )


@asynccontextmanager
async def audited(deps: Deps, question: Question, *, files: int) -> AsyncIterator[QuestionRecord]:
    """Track one question's work: its outcome from how the work ends, then log and count."""
    record = QuestionRecord(question=question, metrics=deps.metrics, files=files)
    deps.metrics.in_progress.inc()
    try:
        yield record
    except asyncio.CancelledError as exc:
        record.outcome = "interrupted" if SHUTDOWN in exc.args else "deleted"
        if STOPPED in exc.args:
            record.outcome = "stopped"
        raise
    except BotError as exc:
        record.outcome, record.error = "error", type(exc).__name__
        raise
    except Exception as exc:
        record.outcome, record.error = "crashed", type(exc).__name__
        raise
    finally:
        deps.metrics.in_progress.dec()
        record.close()


def refused(
    deps: Deps, route: Route, *, request_id: str, outcome: str = "busy", error: str = "Busy"
) -> None:
    """A question turned away unanswered: the bot is full, or the asker may not ask here."""
    deps.metrics.outcome(outcome, error=error)
    question = Question(
        channel=route.channel,
        ts=route.ts,
        thread_ts=route.thread_ts,
        user=route.user,
        request_id=request_id,
        started_at=time.time(),
        owner=deps.replica,
    )
    audit(question, outcome=outcome, files=len(route.message.get("files") or []))


def recovered(deps: Deps, question: Question, outcome: str) -> None:
    """What was done with a question a stopped replica left."""
    deps.metrics.recovered(outcome)
    if outcome != "answering_again":  # the new answer writes its own audit event
        audit(question, outcome=outcome)
