"""`bench`'s report as Markdown for people and JSON for tools."""

from __future__ import annotations

import json
from typing import Any


def _cell(value: Any) -> str:
    return "-" if value is None or value != value else str(value)  # None or NaN


def table(report: dict[str, Any]) -> str:
    """The report as Markdown: the measurements, then what proves them."""
    lines = [
        f"{report['model']} on {report['device']} ({report['dtype']}, torch {report['torch']}, "
        f"transformers {report['transformers']}, compiled: {report['compiled']}, start-up "
        f"{report['startup_s']} s, prompt {report['prompt_tokens']} tokens, "
        f"{report['new_tokens']} new tokens, {report['rows']} rows x {report['slot_tokens']} "
        f"slots; medians of {report['runs_per_level']} runs)",
        "",
        "| path | concurrency | TTFT ms | tokens/s per answer | tokens/s total | runs (total) "
        "| spread % | peak GiB |",
        "|---|---|---|---|---|---|---|---|",
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
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", *_proof(report)]
    return "\n".join(lines)


def _proof(report: dict[str, Any]) -> list[str]:
    """Speed-ups, compile counters, memory and the correctness check, one line each."""
    speedup = ", ".join(f"{c}: x{ratio}" for c, ratio in report.get("speedup", {}).items())
    compiled = report["compile"]
    memory = report["memory"]
    estimate = memory["estimate_gib"]
    lines = [
        f"- scheduler / generate(), tokens/s total: {speedup or '-'}",
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
