"""Google's localisation prompt filled in, and the boxes read back from the answer; pure.

The answer is reasoning, then (as Google's notebook asks) "Final Answer:" and a fenced
json list of {"box_2d": [y0, x0, y1, x1], "label": ...} in 0-1000 of the padded square
image. The boxes are read from the last ```json block after any thinking trace. The
technical report speaks of [0, 1] coordinates: when every value is at most 1 they are
read as fractions. Anything else (no block, not JSON, a box without four numbers, one
outside the image, empty or upside down) makes the whole answer unreadable as boxes:
None, and the answer is shown without them.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from bot.imaging.boxes import SCALE, Box
from bot.prompts import fill

THOUGHT_END = "<unused95>"
JSON_BLOCK = re.compile(r"```json\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def localisation_prompt(template: str, question: str) -> str:
    """Google's prompt with the asker's question as its query (ending in a question mark)."""
    query = " ".join(question.split())
    if query and query[-1] not in ("?", "\uff1f"):  # a full-width one ends CJK questions
        query += "?"
    return fill(template, {"query": query})


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def json_entries(text: str) -> list[Any] | None:
    """The JSON list of the answer's last json block (after any thinking trace); None when
    there is none. Google's recipes ask for one: boxes here, lab values in extraction."""
    blocks = JSON_BLOCK.findall(text.rsplit(THOUGHT_END, 1)[-1])
    if not blocks:
        return None
    try:
        data = json.loads(blocks[-1])
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict):
        data = [data]
    return data if isinstance(data, list) and data else None


def _raw_box(entry: Any) -> tuple[list[float], str] | None:
    if not isinstance(entry, dict):
        return None
    values = entry.get("box_2d")
    label = entry.get("label", "")
    if not isinstance(values, list) or len(values) != 4 or not isinstance(label, str):
        return None
    numbers = [_number(v) for v in values]
    if any(n is None for n in numbers):
        return None
    return [n for n in numbers if n is not None], label


def parse_boxes(answer: str) -> tuple[Box, ...] | None:
    """The boxes of a localisation answer; None when they cannot be read."""
    entries = json_entries(answer)
    if entries is None:
        return None
    raw = [_raw_box(entry) for entry in entries]
    if any(r is None for r in raw):
        return None
    found = [r for r in raw if r is not None]
    fractions = all(0 <= v <= 1 for values, _ in found for v in values)
    scale = SCALE if fractions else 1
    boxes: list[Box] = []
    for values, label in found:
        top, left, bottom, right = (round(v * scale, 3) for v in values)
        if not (0 <= top < bottom <= SCALE and 0 <= left < right <= SCALE):
            return None
        boxes.append(Box(top=top, left=left, bottom=bottom, right=right, label=label))
    return tuple(boxes)
