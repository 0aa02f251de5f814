"""What waits for a decoding process: a question's ticket, and its files as jobs."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from bot.imaging.budget import DecodeBudget
from bot.imaging.types import ImagingOptions
from bot.pipeline.decoding.processes import Outcome


@dataclass(eq=False)
class Ticket:
    """One question's share of decoding: its line, and the seconds and pixels it has left.

    A file's share (its deadline, its pixels) is taken when it starts and what it did not
    use is given back when it ends, so files decoding side by side cannot overspend.
    """

    seconds_left: float
    pixels_left: int
    waiting: deque[Job] = field(default_factory=deque)
    running: int = 0
    served: float = float("-inf")  # when a file of it last started

    @classmethod
    def of(cls, budget: DecodeBudget) -> Ticket:
        """A fresh ticket with the question's whole budget."""
        return cls(seconds_left=budget.question_seconds, pixels_left=budget.question_pixels)

    @property
    def spent(self) -> bool:
        """True when no time or no pixels are left for another file."""
        return self.seconds_left <= 0 or self.pixels_left <= 0


@dataclass(eq=False)
class Job:
    """One file in line or being decoded, with the share of its ticket it holds."""

    data: bytes
    options: ImagingOptions
    ticket: Ticket
    future: asyncio.Future[Outcome]
    seconds: float = 0.0
    pixels: int = 0
    started: float | None = None  # loop time the process began on it (after its boot)
    preempted: bool = False
