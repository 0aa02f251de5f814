"""Group DICOM images by acquisition, as Google's server does, so a volume is one acquisition."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
# Positions closer than this (mm) are the same position.
_SAME_POSITION_MM = 1e-3


@dataclass(frozen=True)
class Keys:
    """An image's opaque stack and acquisition keys and its position along the slice normal."""

    stack: str | None
    acquisition: str | None
    position: float


def group(items: Sequence[T], *, keys: Callable[[T], Keys]) -> list[list[T]]:
    """Items grouped by stack, split by acquisition number where acquisitions repeat positions.

    Google's server also starts a new acquisition when AcquisitionNumber changes; some
    scanners number each pass of one volume (sequential CT), so acquisitions that fill
    different positions stay one volume, and only repeats of the same positions (dynamic
    series, repeated measurements) are split. Unkeyed items stand alone.
    """
    stacks: dict[str, list[T]] = {}
    alone: list[list[T]] = []
    for item in items:
        stack = keys(item).stack
        if stack is None:
            alone.append([item])
        else:
            stacks.setdefault(stack, []).append(item)
    groups: list[list[T]] = []
    for members in stacks.values():
        groups.extend(_split_repeats(members, keys=keys))
    return [*groups, *alone]


def _split_repeats(members: list[T], *, keys: Callable[[T], Keys]) -> list[list[T]]:
    """One group, or one per acquisition when the acquisitions share positions."""
    acquisitions: dict[str | None, list[T]] = {}
    for member in members:
        acquisitions.setdefault(keys(member).acquisition, []).append(member)
    if len(acquisitions) == 1:
        return [members]
    positions = [keys(m).position for m in members if math.isfinite(keys(m).position)]
    rounded = {round(position / _SAME_POSITION_MM) for position in positions}
    if positions and len(rounded) == len(positions):
        return [members]
    return list(acquisitions.values())
