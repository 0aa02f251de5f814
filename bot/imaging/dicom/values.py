"""Read attributes of a hostile data set without raising: absent and malformed look alike."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset

from bot.imaging.dicom.windows import FloatArray

MISSING = math.inf  # sorts after every real instance number or position
UNREADABLE = object()


def get(dataset: Dataset, keyword: str) -> object:
    """An attribute's value, None when absent, UNREADABLE when it fails to convert."""
    try:
        return dataset.get(keyword)
    except Exception:
        # pydicom converts raw values lazily, so a malformed value raises only here; the
        # attribute is still present, and callers choose what that counts as.
        return UNREADABLE


def text(dataset: Dataset, keyword: str, *, unreadable: str = "") -> str:
    """An attribute as stripped text; `unreadable` when its value cannot be converted."""
    value = get(dataset, keyword)
    if value is UNREADABLE:
        return unreadable
    try:
        return "" if value is None else str(value).strip()
    except Exception:
        return unreadable


def number(dataset: Dataset, keyword: str, *, first: bool = False) -> float:
    """A numeric attribute as a finite float (its first value if `first`), else MISSING."""
    value = get(dataset, keyword)
    values = as_list(value)
    if first and values is not None:
        value = values[0] if values else None
    if value is None or value is UNREADABLE:
        return MISSING
    try:
        result = float(str(value))
    except (TypeError, ValueError, OverflowError):
        return MISSING
    return result if math.isfinite(result) else MISSING


def vector(dataset: Dataset, keyword: str, *, length: int) -> FloatArray | None:
    """A multi-valued decimal attribute as floats, None when absent or malformed."""
    items = as_list(get(dataset, keyword))
    if items is None or len(items) != length:
        return None
    try:
        values = np.array([float(str(v)) for v in items], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    return values if bool(np.all(np.isfinite(values))) else None


def item(dataset: Dataset, keyword: str, index: int = 0) -> Dataset | None:
    """Item `index` of a sequence attribute, None when absent, short or malformed."""
    items = as_list(get(dataset, keyword))
    if items is None or not 0 <= index < len(items):
        return None
    found = items[index]
    return found if isinstance(found, Dataset) else None


def as_list(value: object) -> Sequence[object] | None:
    """A list-like value (MultiValue, Sequence) as a sequence; None for text and scalars."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    return None
