"""One record per answered item, appended to a JSON Lines file as it comes: resumable.

The file's first line names the run (format, split, mode, model); `--resume` accepts
only a file of the same run and skips the items it holds, except those recorded with an
error, which are asked again. A last line cut short by a kill is ignored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any, Literal

from bot.commands.eval.datasets import Item
from bot.commands.eval.metrics import Polarity, score
from bot.errors import ConfigError

HEADER_KEY = "medgemma_eval"
HEADER_VERSION = 1


@dataclass(frozen=True)
class Record:
    """An item's question, the model's answer and its scores (never image data)."""

    id: str
    group: str
    question_type: Literal["closed", "open"]
    condition: str
    question: str  # as sent to the model
    reference: str
    prediction: str
    tokenized_f1: float
    correct: bool | None  # closed questions only
    read_as: Polarity  # the yes/no read from the prediction, for yes/no references
    error: str = ""  # the message key of the error the bot answered with instead

    @staticmethod
    def of(item: Item, *, question: str, prediction: str, error: str = "") -> Record:
        """Score `prediction` for `item`."""
        scores = score(prediction, item.reference, closed=item.closed)
        return Record(
            id=item.id,
            group=item.group,
            question_type="closed" if item.closed else "open",
            condition=item.condition,
            question=question,
            reference=item.reference,
            prediction=prediction,
            tokenized_f1=scores.f1,
            correct=scores.correct,
            read_as=scores.read_as,
            error=error,
        )

    def as_json(self) -> dict[str, Any]:
        """The record as a JSON object."""
        return asdict(self)


_NAMES = {f.name for f in fields(Record)}


def _record(data: Any) -> Record | None:
    if not isinstance(data, dict) or set(data) != _NAMES:
        return None
    return Record(**data)


class RecordLog:
    """The run's JSON Lines file: a header line, then one record per line."""

    def __init__(self, path: Path, *, run: dict[str, str]) -> None:
        self.path = path
        self._header = {HEADER_KEY: HEADER_VERSION, **run}
        self._handle: IO[str] | None = None

    def open(self, *, resume: bool) -> dict[str, Record]:
        """Start the file, or with `resume` read it back: the answered records by id.

        A file holding only a header (a run that never answered) is started afresh.
        """
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.is_file() else []
        done: dict[str, Record] = {}
        if lines and resume:
            done = self._read(lines)
        elif len(lines) > 1:
            raise ConfigError(
                f"{self.path} already holds results: pass --resume to continue that run, "
                "or --records to write elsewhere"
            )
        else:
            lines = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a" if lines else "w", encoding="utf-8")
        if not lines:
            self._write(self._header)
        return done

    def append(self, record: Record) -> None:
        """Add one record, on disk at once (an interrupted run keeps it)."""
        self._write(record.as_json())

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _write(self, data: dict[str, Any]) -> None:
        assert self._handle is not None, "open() the log first"
        self._handle.write(json.dumps(data, ensure_ascii=False) + "\n")
        self._handle.flush()

    def _read(self, lines: list[str]) -> dict[str, Record]:
        try:
            header = json.loads(lines[0])
        except json.JSONDecodeError:
            header = None
        if header != self._header:
            raise ConfigError(
                f"{self.path} holds another run (format, split, mode or model differ); "
                "pass --records to write this one elsewhere"
            )
        done: dict[str, Record] = {}
        for number, line in enumerate(lines[1:], start=2):
            try:
                record = _record(json.loads(line))
            except json.JSONDecodeError:
                record = None
            if record is None:
                if number == len(lines):  # cut short by a kill mid-write: drop it
                    self.path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
                    continue
                raise ConfigError(f"line {number} of {self.path} is not a record")
            if not record.error:
                done[record.id] = record
        return done
