"""A run's figures: a JSON report (fractions, one record per item) and a Markdown table."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.commands.eval.metrics import Counts, Score, macro_f1, summarize
from bot.commands.eval.published import (
    CARD_GROUP,
    CARD_MODELS,
    CXR_FIGURES,
    VQA_FIGURES,
    card_for,
)
from bot.commands.eval.records import Record

GROUP_NAMES = {"en": "English", "zh": "Chinese"}


def _summary(records: Iterable[Record]) -> dict[str, Any]:
    scores = (Score(r.tokenized_f1, r.correct, r.read_as) for r in records)
    return asdict(summarize(scores))


def condition_counts(records: Iterable[Record]) -> dict[str, Counts]:
    """Per condition of a labels run: a yes read from the answer is a positive."""
    counts: dict[str, Counts] = {}
    for r in records:
        if r.condition:
            previous = counts.get(r.condition, Counts())
            counts[r.condition] = previous.add(
                predicted=r.read_as == "yes", actual=r.reference == "yes"
            )
    return counts


def _card(format: str) -> dict[str, Any]:
    if format == "labels":
        return {name: dict(zip(CARD_MODELS, f1s, strict=True)) for name, f1s in CXR_FIGURES.items()}
    figures = VQA_FIGURES[format]
    return {
        "group": CARD_GROUP[format] or "all",
        **{model: asdict(f) for model, f in zip(CARD_MODELS, figures, strict=True)},
    }


def build_report(
    *, run: Mapping[str, str], records: Sequence[Record], total: int, partial: bool
) -> dict[str, Any]:
    """The JSON report: figures over all records, per group, per condition, and the card's."""
    report: dict[str, Any] = {**run, "partial": partial, "items": total}
    report.update(_summary(records))
    report["errors"] = sum(bool(r.error) for r in records)
    groups = sorted({r.group for r in records if r.group})
    report["groups"] = {g: _summary(r for r in records if r.group == g) for g in groups}
    if run["format"] == "labels":
        counts = condition_counts(records)
        report["macro_f1"] = macro_f1(counts)
        report["conditions"] = {
            name: {**asdict(c), "f1": c.f1} for name, c in sorted(counts.items())
        }
    report["card"] = _card(run["format"])
    report["records"] = [r.as_json() for r in records]
    return report


def write_json(report: Mapping[str, Any], path: Path) -> None:
    """Write the report as UTF-8 JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    path.write_text(text + "\n", encoding="utf-8")


def percent(value: float | None) -> str:
    """A fraction as the cards print it (72.3), or "-" when there is none."""
    return "-" if value is None else f"{100 * value:.1f}"


def markdown(report: Mapping[str, Any]) -> str:
    """The run's figures as a Markdown table beside the model cards' own."""
    done = f"{report['n']} of {report['items']} items"
    if report["partial"]:
        done += ", interrupted: partial results"
    title = (
        f"medgemma-bot eval: {report['format']} ({report['split']} split), "
        f"{report['mode']} mode, {report['model']}: {done}"
    )
    errors = f"\n\n{report['errors']} item(s) got an error instead of an answer (scored 0)."
    body = _labels_table(report) if report["format"] == "labels" else _vqa_table(report)
    card = f"\n\nThe card to compare with: {card_for(str(report['model']))} (the model run)."
    return title + "\n\n" + body + card + (errors if report["errors"] else "")


def _vqa_row(name: str, *, figures: Mapping[str, Any], card: Sequence[str]) -> str:
    closed = f"{percent(figures['closed_accuracy'])} ({figures['n_closed']})"
    cells = [name, str(figures["n"]), percent(figures["tokenized_f1"]), closed, *card]
    return "| " + " | ".join(cells) + " |"


def _vqa_table(report: Mapping[str, Any]) -> str:
    card = report["card"]
    card_cells = [
        f"{percent(card[m]['tokenized_f1'])} / {percent(card[m]['closed_accuracy'])}"
        for m in CARD_MODELS
    ]
    blank = ["-"] * len(CARD_MODELS)
    header = "| subset | n | tokenized F1 | closed accuracy (n) | " + " | ".join(
        f"card {m}: F1 / closed" for m in CARD_MODELS
    )
    lines = [header + " |", "|" + "---|" * (4 + len(CARD_MODELS))]
    for group, figures in report["groups"].items():
        cells = card_cells if group == card["group"] else blank
        lines.append(_vqa_row(GROUP_NAMES.get(group, group), figures=figures, card=cells))
    lines.append(
        _vqa_row("all", figures=report, card=card_cells if card["group"] == "all" else blank)
    )
    note = (
        "\n\nFigures in percent. Card figures from the model cards "
        "(bot/commands/eval/published.py)"
        + (
            "; VQA-RAD's are on the balanced split of Yang et al. 2024, not the public test split"
            if report["format"] == "vqa-rad"
            else "; SLAKE's are on English questions"
        )
        + "."
    )
    return "\n".join(lines) + note


def _labels_table(report: Mapping[str, Any]) -> str:
    lines = ["| condition | n | positives | read as yes | F1 |", "|---|---|---|---|---|"]
    for name, c in report["conditions"].items():
        n = c["tp"] + c["fp"] + c["fn"] + c["tn"]
        cells = [name, str(n), str(c["tp"] + c["fn"]), str(c["tp"] + c["fp"]), percent(c["f1"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"| macro F1 | {report['n']} | | | {percent(report['macro_f1'])} |")
    card = ["", "| card macro F1 | " + " | ".join(CARD_MODELS) + " |", "|---|---|---|"]
    for name, f1s in report["card"].items():
        card.append(f"| {name} | " + " | ".join(percent(f) for f in f1s.values()) + " |")
    return "\n".join(lines + card) + "\n\nFigures in percent; the card's are on its datasets."
