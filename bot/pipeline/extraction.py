"""Values read from a lab report: parsed from the model's answer, checked against the PDF's
text layer, laid out as a table; pure.

The extraction instruction (bot/prompts/abilities.toml) asks for a fenced json list of
{"name", "result", "unit", "reference_range"} objects after a short summary, the
fields the MedGemma 1.5 technical report names for lab reports. Each result is then
looked for in the text layer of the pages the model read: a number must appear there as
a number (13.2 does not match 113.2 or 13.25; a decimal comma counts as a point), other
results as words. A result that is not there is flagged: the model may have misread
it. A photo, or a scanned PDF, has no text layer: nothing can be checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.imaging.types import DecodedFile, Layout
from bot.pipeline.conversation import Note
from bot.pipeline.localise import JSON_BLOCK, THOUGHT_END, json_entries
from bot.pipeline.messages import DecodedMessage

_NUMBER = re.compile(r"^[<>≤≥]?\s*[-+]?\d+(?:[.,]\d+)?$")
MAX_ROWS = 99  # Slack's table block holds 100 rows, the header one of them
MAX_CELL = 200  # characters of one cell; a longer value is cut


@dataclass(frozen=True)
class LabValue:
    """One value the model read; `in_text` None when there was no text to check against."""

    name: str
    result: str
    unit: str = ""
    reference_range: str = ""
    in_text: bool | None = None


def _field(entry: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return " ".join(str(value).split())[:MAX_CELL]
    return ""


def parse_values(answer: str) -> tuple[LabValue, ...] | None:
    """The values of an extraction answer's last json block; None when there are none."""
    entries = json_entries(answer)
    if entries is None:
        return None
    values = [
        LabValue(
            name=_field(entry, "name", "test"),
            result=_field(entry, "result", "value"),
            unit=_field(entry, "unit", "units"),
            reference_range=_field(entry, "reference_range", "range", "reference"),
        )
        for entry in entries
        if isinstance(entry, dict)
    ]
    kept = tuple(v for v in values if v.name and v.result)
    return kept[:MAX_ROWS] or None


def without_values(answer: str) -> str:
    """The answer as the asker reads it: no thinking trace, no json block."""
    return JSON_BLOCK.sub("", answer.rsplit(THOUGHT_END, 1)[-1]).strip()


def _plain(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _pattern(result: str) -> re.Pattern[str]:
    """A result as it may be printed: a number standing alone, or the words themselves."""
    plain = _plain(result)
    if _NUMBER.match(plain):
        number = plain.lstrip("<>≤≥+ ")
        digits = "".join("[.,]" if ch in ".," else re.escape(ch) for ch in number)
        return re.compile(rf"(?<![\d.,]){digits}(?![\d]|[.,]\d)")
    return re.compile(re.escape(plain))


def check_values(values: Sequence[LabValue], pages: Sequence[str]) -> tuple[LabValue, ...]:
    """The values with `in_text` set from the pages' text (left None when there is none)."""
    text = _plain(" ".join(pages))
    if not text:
        return tuple(values)
    return tuple(replace(v, in_text=bool(_pattern(v.result).search(text))) for v in values)


def value_notes(values: Sequence[LabValue] | None, *, has_text: bool) -> list[Note]:
    """What the answer says about its table: how far the values could be checked."""
    if values is None:
        return [("values_unreadable", {})]
    notes: list[Note] = [("values_table", {})]
    if not has_text:
        return [*notes, ("values_no_text", {})]
    missing = sum(1 for v in values if v.in_text is False)
    return [*notes, ("values_unchecked", {"count": missing}) if missing else ("values_checked", {})]


def table_rows(
    values: Sequence[LabValue], *, headers: Mapping[str, str]
) -> tuple[tuple[str, ...], ...]:
    """The table as rows of cell text, the header row first; a check column with a text layer."""
    checked = any(v.in_text is not None for v in values)
    columns = ("test", "result", "unit", "range", *(("check",) if checked else ()))
    rows = [tuple(headers[c] for c in columns)]
    for v in values:
        check = (headers["found"] if v.in_text else headers["unchecked"],) if checked else ()
        rows.append((v.name, v.result, v.unit, v.reference_range, *check))
    return tuple(rows)


def source(thread: Sequence[DecodedMessage]) -> DecodedFile | None:
    """The file a values question is about: the newest PDF or photo, the question's own first."""
    for message in reversed(thread):
        for file in message.files:
            if file.layout is Layout.PAGES or file.kind == "photo":
                return file
    return None
