"""`bench`'s report as Markdown for people and JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.commands.bench.measure import Row

# The engine stays only if, on a GPU, it beats the static-cache generate() path by this
# factor in total tokens/s at this concurrency (docs/performance.md, issue 21).
FACTOR = 1.5
DECISION_LEVEL = 8


def speedup(rows: Sequence[Row]) -> dict[str, dict[str, float]]:
    """The scheduler's total tokens/s over each other path's, per level measured on both."""
    totals = {(r.path, r.concurrency): r.tokens_per_s_total for r in rows}
    ratios: dict[str, dict[str, float]] = {}
    for (path, level), total in totals.items():
        ours = totals.get(("scheduler", level))
        if path != "scheduler" and ours and total:
            ratios.setdefault(path, {})[str(level)] = round(ours / total, 2)
    return ratios


def decision(report: dict[str, Any]) -> dict[str, Any]:
    """The decision rule applied to this report: keep the engine, drop it, or no verdict."""
    ratio = report.get("speedup", {}).get("static", {}).get(str(DECISION_LEVEL))
    on_gpu = report["device"] != "cpu"
    if ratio is None:
        verdict = f"none: both paths at concurrency {DECISION_LEVEL} are needed"
    elif not on_gpu:
        verdict = "none: the rule applies to GPU figures only"
    elif ratio >= FACTOR:
        verdict = "keep the engine"
    else:
        verdict = "drop the engine: MEDGEMMA_ENGINE=generate, vLLM for concurrency"
    rule = f"scheduler >= {FACTOR}x static generate() in tokens/s at {DECISION_LEVEL} on a GPU"
    return {"rule": rule, "ratio": ratio, "on_gpu": on_gpu, "verdict": verdict}


def _cell(value: Any) -> str:
    return "-" if value is None or value != value else str(value)  # None or NaN


def table(report: dict[str, Any]) -> str:
    """The report as Markdown: the measurements, then what proves them."""
    lines = [
        f"{report['model']} on {report['device']} ({report['dtype']}, torch {report['torch']}, "
        f"transformers {report['transformers']}, compiled: scheduler {report['compiled']}, "
        f"static generate() {report['static_compiled']}, start-up "
        f"{report['startup_s']} s, prompt {report['prompt_tokens']} tokens, "
        f"{report['new_tokens']} new tokens, {report['rows']} rows x {report['slot_tokens']} "
        f"slots; medians of {report['runs_per_level']} runs)",
        "",
        "| path | concurrency | TTFT ms | tokens/s per answer | tokens/s total | runs (total) "
        "| spread % | peak GiB | warm-up s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        runs = " / ".join(str(run["tokens_per_s_total"]) for run in r["runs"])
        cells = [
            r["path"],
            r["concurrency"],
            r["ttft_ms"],
            r["tokens_per_s_per_answer"],
            r["tokens_per_s_total"],
            runs,
            r["spread_pct"],
            r["peak_memory_gib"],
            r.get("warmup_s"),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", *_proof(report)]
    return "\n".join(lines)


def _proof(report: dict[str, Any]) -> list[str]:
    """Speed-ups, compile counters, memory and the correctness check, one line each."""
    ratios = "; ".join(
        f"over {path}: " + ", ".join(f"{c}: x{ratio}" for c, ratio in levels.items())
        for path, levels in report.get("speedup", {}).items()
    )
    compiled = report["compile"]
    memory = report["memory"]
    estimate = memory["estimate_gib"]
    lines = [
        f"- scheduler's tokens/s total {ratios or '-'}",
        f"- compile: {compiled['seconds']} s, {compiled['graphs']} graphs, "
        f"{compiled['graph_breaks']} graph breaks, {compiled['cudagraph_skips']} CUDA-graph "
        f"skips; while serving: {compiled.get('recompiles_while_serving', '-')} recompiles, "
        f"{compiled.get('cudagraph_skips_while_serving', '-')} CUDA-graph skips, "
        f"{compiled.get('fallbacks', '-')} eager fallbacks",
        f"- memory estimate {estimate['total']} GiB (weights {estimate['weights']}, cache "
        f"{estimate['kv_cache']}, prefill {estimate['prefill']}, decode {estimate['decode']}); "
        f"measured peak {_cell(memory['peak_gib'])} GiB (start-up "
        f"{_cell(memory.get('startup_peak_gib'))} GiB)",
    ]
    for path, why in report.get("failed", {}).items():
        lines.append(f"- {path} failed ({why}): left out from then on; see the log")
    if (rule := report.get("decision")) is not None:
        lines.append(f"- decision ({rule['rule']}): {rule['verdict']}")
    check = report.get("check")
    if check is not None:
        lines.append(
            f"- check, one served step against eager float32 ({check['reference_device']}): "
            f"relative error {check['relative_error']:.2e}, max abs {check['max_abs_error']:.2e}, "
            f"same argmax: {check['same_argmax']}, served compiled: {check['compiled']}"
        )
    return lines


def dumps(report: dict[str, Any]) -> str:
    """The report as JSON (NaN and infinity written as null)."""
    return json.dumps(_clean(report), indent=2)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
