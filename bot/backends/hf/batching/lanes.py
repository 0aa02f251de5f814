"""A lane: an engine, the jobs in its rows, and the step whose tokens are on their way."""

from __future__ import annotations

from bot.backends.hf.batching.engine import Engine
from bot.backends.hf.batching.jobs import Job
from bot.backends.hf.batching.readback import PendingTokens

# A launched step: the jobs in its rows, in row order at launch, and its tokens.
InFlight = tuple[list[Job], PendingTokens]


class Lane:
    """An engine and the jobs in its rows (job i sits in row i: rows stay compact)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.active: list[Job] = []
        self.limit = engine.rows  # lowered after an out-of-memory error
        # The last launched step, read on the next round: the host looks at a step's
        # tokens while the device runs the following one.
        self.pending: InFlight | None = None

    @property
    def free(self) -> int:
        """Rows that can take a job now."""
        return max(0, self.limit - len(self.active))

    def fits(self, job: Job) -> bool:
        """Whether the job's prompt and answer fit a row of this lane."""
        return job.prompt.length + job.max_new_tokens <= self.engine.slot_tokens

    def remove(self, job: Job) -> None:
        """Take a job out and move the last row into its place."""
        row = self.active.index(job)
        last = len(self.active) - 1
        if row != last:
            self.engine.move_row(source=last, dest=row)
            self.active[row] = self.active[last]
        self.active.pop()
