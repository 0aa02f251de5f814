"""`bench`'s report: the scheduler's ratio over each path, and the decision rule."""

from __future__ import annotations

from typing import Any

import pytest

from bot.commands.bench.measure import Row
from bot.commands.bench.report import decision, speedup, table


def row(path: str, concurrency: int, total: float) -> Row:
    return Row(path, concurrency, 1.0, total / concurrency, total, 0.0, [], None)


def test_ratios_per_path_and_level() -> None:
    rows = [row("scheduler", 1, 100), row("scheduler", 8, 800), row("static", 1, 125)]
    rows += [row("static", 8, 400), row("generate", 8, 80)]
    assert speedup(rows) == {"static": {"1": 0.8, "8": 2.0}, "generate": {"8": 10.0}}


@pytest.mark.parametrize(
    ("device", "static_at_8", "verdict"),
    [
        ("NVIDIA H100 80GB HBM3", 500.0, "keep the engine"),  # x1.6
        ("NVIDIA H100 80GB HBM3", 600.0, "drop the engine"),  # x1.33: not 1.5
        ("NVIDIA H200", 800 / 1.5, "keep the engine"),  # exactly 1.5
        ("cpu", 100.0, "none: the rule applies to GPU figures only"),
        ("NVIDIA H200", None, "none: both paths at concurrency 8 are needed"),
    ],
)
def test_the_decision_rule(device: str, static_at_8: float | None, verdict: str) -> None:
    rows = [row("scheduler", 8, 800), row("static", 1, 100)]
    if static_at_8 is not None:
        rows.append(row("static", 8, static_at_8))
    report: dict[str, Any] = {"device": device, "speedup": speedup(rows)}
    assert decision(report)["verdict"].startswith(verdict)
    assert decision(report)["on_gpu"] is (device != "cpu")


def test_the_table_shows_the_rule_and_the_warm_up() -> None:
    static = row("static", 8, 400)
    report: dict[str, Any] = {
        "model": "m",
        "device": "NVIDIA H200",
        "dtype": "bfloat16",
        "torch": "2.11",
        "transformers": "5.17",
        "compiled": True,
        "static_compiled": True,
        "startup_s": 90,
        "prompt_tokens": 331,
        "new_tokens": 256,
        "rows": 32,
        "slot_tokens": 1024,
        "runs_per_level": 2,
        "results": [row("scheduler", 8, 800).__dict__, {**static.__dict__, "warmup_s": 61.5}],
        "compile": {"seconds": 80, "graphs": 1, "graph_breaks": 0, "cudagraph_skips": 0},
        "memory": {
            "estimate_gib": dict.fromkeys(
                ("total", "weights", "kv_cache", "prefill", "decode"), 1.0
            ),
            "peak_gib": 12.0,
        },
    }
    report["speedup"] = speedup([row("scheduler", 8, 800), static])
    report["decision"] = decision(report)
    text = table(report)
    assert "| static | 8 |" in text and "| 61.5 |" in text
    assert "over static: 8: x2.0" in text
    assert "decision (scheduler >= 1.5x static generate() in tokens/s at 8 on a GPU): keep" in text
