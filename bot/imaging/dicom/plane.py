"""A grey frame's modality values, kept as decoded and computed a strip of rows at a time.

A whole frame in float64 costs 8 bytes a pixel for every copy (a 100 MP frame, 800 MB
each, several at once while windowing). Kept as stored values plus the linear rescale,
and mapped in strips of about a megapixel, a frame costs its stored values and its 8-bit
output; each strip gets the same float64 arithmetic as the whole frame did, so the pixels
are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.imaging.dicom.windows import AnyArray, ByteArray, FloatArray, finite

STRIP_PIXELS = 1 << 20


@dataclass(frozen=True, eq=False)
class GreyPlane:
    """Stored values (2-D, or a modality LUT's output) and the rescale to modality values."""

    stored: AnyArray
    slope: float = 1.0
    intercept: float = 0.0

    @property
    def height(self) -> int:
        """Rows."""
        return int(self.stored.shape[0])

    @property
    def width(self) -> int:
        """Columns."""
        return int(self.stored.shape[1])

    def strips(self) -> Iterator[tuple[slice, FloatArray]]:
        """(rows, modality values of those rows as float64), top to bottom."""
        step = max(1, STRIP_PIXELS // max(1, self.width))
        for top in range(0, self.height, step):
            rows = slice(top, min(self.height, top + step))
            yield rows, self.stored[rows].astype(np.float64) * self.slope + self.intercept

    def value_range(self) -> tuple[float, float]:
        """The finite minimum and maximum of the modality values (0, 0 when none is finite)."""
        low, high = np.inf, -np.inf
        for _, values in self.strips():
            clean = finite(values)
            low, high = min(low, float(clean.min())), max(high, float(clean.max()))
        return (low, high) if low <= high else (0.0, 0.0)

    def map(self, mapping: Callable[[FloatArray], ByteArray], *, channels: int = 1) -> ByteArray:
        """8-bit pixels of an element-wise `mapping`, applied strip by strip."""
        shape = (self.height, self.width) if channels == 1 else (self.height, self.width, channels)
        out = np.empty(shape, dtype=np.uint8)
        for rows, values in self.strips():
            out[rows] = mapping(values)
        return out

    def float32(self) -> npt.NDArray[np.float32]:
        """The finite modality values as float32 (half a float64 frame), built strip by strip."""
        out = np.empty((self.height, self.width), dtype=np.float32)
        for rows, values in self.strips():
            out[rows] = finite(values)
        return out


def by_rows(values: AnyArray, mapping: Callable[[AnyArray], ByteArray]) -> ByteArray:
    """8-bit pixels of an element-wise `mapping` of a (rows, columns[, samples]) array."""
    out = np.empty(values.shape, dtype=np.uint8)
    per_row = max(1, int(np.prod(values.shape[1:])))
    step = max(1, STRIP_PIXELS // per_row)
    for top in range(0, values.shape[0], step):
        out[top : top + step] = mapping(values[top : top + step])
    return out
