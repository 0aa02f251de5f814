"""The bot's Prometheus metrics, in a registry of its own (one per app).

Labels hold fixed words only: an outcome, an error's class name, a rating, a reason code
(a key of bot/prompts/messages.toml [reasons]), a GPU index.
Never user text, file names, channel or user ids: those go to the audit log, not here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from bot.pipeline.messages import AnswerStats
from bot.service.gpu import GpuMemoryCollector

Rating = Literal["up", "down"]

SECONDS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
FIRST_TOKEN_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
TOKENS_PER_SECOND = (1, 5, 10, 20, 50, 100, 200, 500, 1000)
COUNTS = (0, 1, 2, 4, 8, 16, 32, 64, 85, 128)
REASON_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")  # a code, so never free text


def _counter(registry: CollectorRegistry, name: str, doc: str, label: str) -> Counter:
    return Counter(name, doc, [label], registry=registry)


def _histogram(
    registry: CollectorRegistry, name: str, doc: str, buckets: Sequence[float]
) -> Histogram:
    return Histogram(name, doc, buckets=buckets, registry=registry)


class Metrics:
    """Counters, gauges and histograms of questions as they flow; `registry` serves them."""

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.questions = _counter(r, "medgemma_questions", "Questions by how they ended", "outcome")
        self.errors = _counter(r, "medgemma_errors", "Failed questions by error class", "kind")
        self.recoveries = _counter(
            r,
            "medgemma_recoveries",
            "Questions a stopped replica left, by what was done",
            "outcome",
        )
        self.feedback_given = _counter(r, "medgemma_feedback", "Ratings of answers", "rating")
        self.feedback_reasons = _counter(
            r, "medgemma_feedback_reasons", "Reasons chosen for a thumbs down", "reason"
        )
        self.in_progress = Gauge(
            "medgemma_questions_in_progress", "Questions being answered here", registry=r
        )
        self.waiting = Gauge(
            "medgemma_questions_waiting", "Questions waiting for a place with the model", registry=r
        )
        self.queue_wait = _histogram(
            r, "medgemma_queue_wait_seconds", "Wait for a place with the model", SECONDS
        )
        self.first_token = _histogram(
            r,
            "medgemma_time_to_first_token_seconds",
            "From reading the files to the model's first text",
            FIRST_TOKEN_SECONDS,
        )
        self.answer_time = _histogram(
            r, "medgemma_answer_seconds", "From the question's start to its posted answer", SECONDS
        )
        self.tokens_per_second = _histogram(
            r,
            "medgemma_tokens_per_second",
            "Answer tokens per second of generation (as the backend counts tokens)",
            TOKENS_PER_SECOND,
        )
        self.images = _histogram(
            r, "medgemma_images_per_request", "Images sent to the model", COUNTS
        )
        self.slices = _histogram(
            r, "medgemma_slices_per_request", "CT/MRI series slices sent to the model", COUNTS
        )
        ProcessCollector(registry=r)
        r.register(GpuMemoryCollector())

    def feedback(self, rating: Rating) -> None:
        """Count one rating of an answer (the feedback buttons' handler calls this)."""
        if rating not in ("up", "down"):
            raise ValueError("rating must be 'up' or 'down'")
        self.feedback_given.labels(rating=rating).inc()

    def feedback_reason(self, code: str) -> None:
        """Count one reason chosen for a thumbs down (a [reasons] code, never text)."""
        if not REASON_CODE.fullmatch(code):
            raise ValueError("a reason is a short code such as 'missed_finding'")
        self.feedback_reasons.labels(reason=code).inc()

    def outcome(self, outcome: str, *, error: str = "") -> None:
        """Count a question that ended (and its error's class name, if it failed)."""
        self.questions.labels(outcome=outcome).inc()
        if error:
            self.errors.labels(kind=error).inc()

    def answered(self, stats: AnswerStats) -> None:
        """Observe one model request's counts and timings."""
        self.images.observe(stats.images)
        self.slices.observe(stats.slices)
        if stats.first_token_s is not None:
            self.first_token.observe(stats.first_token_s)
        if stats.queue_wait_s is not None:
            self.queue_wait.observe(stats.queue_wait_s)
        if stats.tokens and stats.generation_s:
            self.tokens_per_second.observe(stats.tokens / stats.generation_s)

    def recovered(self, outcome: str) -> None:
        """Count what was done with a question a stopped replica left."""
        self.recoveries.labels(outcome=outcome).inc()
