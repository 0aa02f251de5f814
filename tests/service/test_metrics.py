"""Metrics: a registry per app, fixed-word labels, the feedback counter others call."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.pipeline.messages import AnswerStats
from bot.service.metrics import Metrics


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    """One sample's value from the exposition text, None when absent."""
    text = generate_latest(metrics.registry).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()  # no "Duplicated timeseries" error
    first.outcome("answered")
    assert value(first, "medgemma_questions_total", outcome="answered") == 1
    assert value(second, "medgemma_questions_total", outcome="answered") is None


def test_feedback_is_counted_by_rating() -> None:
    metrics = Metrics()
    metrics.feedback("up")
    metrics.feedback("up")
    metrics.feedback("down")
    assert value(metrics, "medgemma_feedback_total", rating="up") == 2
    assert value(metrics, "medgemma_feedback_total", rating="down") == 1
    with pytest.raises(ValueError):
        metrics.feedback("meh")  # type: ignore[arg-type]


def test_an_answer_is_observed() -> None:
    metrics = Metrics()
    stats = AnswerStats(
        images=85, slices=85, first_token_s=0.5, queue_wait_s=0.1, generation_s=2.0, tokens=100
    )
    metrics.answered(stats)
    metrics.outcome("error", error="BackendTimeout")
    assert value(metrics, "medgemma_slices_per_request_sum") == 85
    assert value(metrics, "medgemma_images_per_request_bucket", le="85.0") == 1
    assert value(metrics, "medgemma_tokens_per_second_sum") == 50
    assert value(metrics, "medgemma_time_to_first_token_seconds_count") == 1
    assert value(metrics, "medgemma_queue_wait_seconds_count") == 1
    assert value(metrics, "medgemma_errors_total", kind="BackendTimeout") == 1


def test_no_gpu_memory_without_cuda_in_this_process() -> None:
    import torch

    if torch.cuda.is_initialized():
        pytest.skip("CUDA is in use in this process")
    text = generate_latest(Metrics().registry).decode()
    assert "medgemma_gpu_memory_bytes" not in text


class FakeCuda:
    """torch.cuda as the collector reads it, for a machine with one 80 GiB GPU."""

    GiB = 1024**3

    def is_initialized(self) -> bool:
        return True

    def device_count(self) -> int:
        return 1

    def mem_get_info(self, index: int) -> tuple[int, int]:
        return 60 * self.GiB, 80 * self.GiB

    def memory_allocated(self, index: int) -> int:
        return 9 * self.GiB

    def memory_reserved(self, index: int) -> int:
        return 12 * self.GiB


def test_gpu_memory_by_device_and_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=FakeCuda()))
    metrics = Metrics()
    gib = FakeCuda.GiB
    assert value(metrics, "medgemma_gpu_memory_bytes", gpu="0", kind="allocated") == 9 * gib
    assert value(metrics, "medgemma_gpu_memory_bytes", gpu="0", kind="reserved") == 12 * gib
    assert value(metrics, "medgemma_gpu_memory_bytes", gpu="0", kind="device_used") == 20 * gib
    assert value(metrics, "medgemma_gpu_memory_bytes", gpu="0", kind="device_total") == 80 * gib
