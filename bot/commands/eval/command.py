"""`medgemma-bot eval`: a benchmark through the bot's pipeline, scored as the cards score.

The run's records go to a JSON Lines file as they come (`--records`, by default
`medgemma-eval-FORMAT-SPLIT-MODE.jsonl` in the working directory), so Ctrl-C keeps what
is done: the partial figures are printed and written (`"partial": true`) before the
command exits with 130, and `--resume` carries on where it stopped. Nothing is written
into the benchmark's folder.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from bot.backends.base import Backend
from bot.commands.eval.datasets import Dataset, Format, detect_format, load_dataset
from bot.commands.eval.questions import DEFAULT_CONCURRENCY, Mode, load_questions
from bot.commands.eval.records import Record, RecordLog
from bot.commands.eval.report import build_report, markdown, write_json
from bot.commands.eval.runner import Runner, mode_prompts, mode_settings
from bot.errors import ConfigError
from bot.prompts import Prompts
from bot.settings import Settings


@dataclass(frozen=True)
class EvalJob:
    """What the command line asked for."""

    path: Path
    format: Format | None = None
    split: str | None = None
    mode: Mode = "card"
    limit: int | None = None
    json_out: Path | None = None
    records: Path | None = None
    resume: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    max_new_tokens: int | None = None


def _outside(dataset: Dataset, path: Path) -> Path:
    """`path`, refused when it would write into the benchmark."""
    root = dataset.root.resolve()
    target = path.resolve()
    inside = target == root if root.is_file() else target.is_relative_to(root)
    if inside:
        raise ConfigError(f"{path} is inside the benchmark {dataset.root}: write elsewhere")
    return path


class Evaluation:
    """One run: read the benchmark and the records file first, then ask the model."""

    def __init__(self, job: EvalJob, *, settings: Settings) -> None:
        self.job = job
        self.dataset = load_dataset(
            job.path, format=job.format or detect_format(job.path), split=job.split
        )
        self.items = self.dataset.items[: job.limit] if job.limit else self.dataset.items
        self.questions = load_questions(job.mode)
        self.settings = mode_settings(settings, mode=job.mode, max_new_tokens=job.max_new_tokens)
        self.run_info = {
            "format": self.dataset.format,
            "split": self.dataset.split,
            "mode": job.mode,
            "model": settings.model,
        }
        default = f"medgemma-eval-{self.dataset.format}-{self.dataset.split}-{job.mode}.jsonl"
        self.log = RecordLog(
            _outside(self.dataset, job.records or Path(default)), run=self.run_info
        )
        if job.json_out is not None:
            _outside(self.dataset, job.json_out)
        self.done = self.log.open(resume=job.resume)

    async def run(
        self,
        *,
        prompts: Prompts,
        backend: Backend,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> dict[str, Any]:
        """Ask about every item not yet done; print and write the report (also when cancelled).

        The table goes to `out` (stdout), the progress bar to `err` (stderr).
        """
        out = out or sys.stdout
        wanted = {item.id for item in self.items}
        done = {key: record for key, record in self.done.items() if key in wanted}
        todo = [item for item in self.items if item.id not in done]
        bar = tqdm(
            total=len(self.items), initial=len(done), unit="q", file=err or sys.stderr, desc="eval"
        )
        runner = Runner(
            settings=self.settings,
            prompts=mode_prompts(prompts, mode=self.job.mode),
            backend=backend,
            questions=self.questions,
        )

        def finished(record: Record) -> None:
            self.log.append(record)
            done[record.id] = record
            bar.update(1)

        try:
            await runner.run(todo, concurrency=self.job.concurrency, on_record=finished)
        except BaseException:  # Ctrl-C (a cancelled task), or the model server gone
            bar.close()
            self._report(done, partial=True, out=out)
            raise
        finally:
            bar.close()
            runner.close()
            self.log.close()
        return self._report(done, partial=False, out=out)

    def _report(self, done: dict[str, Record], *, partial: bool, out: TextIO) -> dict[str, Any]:
        records = [done[item.id] for item in self.items if item.id in done]
        report = build_report(
            run={**self.run_info, "backend": self.settings.backend},
            records=records,
            total=len(self.items),
            partial=partial,
        )
        out.write(markdown(report) + "\n")
        out.flush()
        if self.job.json_out is not None:
            write_json(report, self.job.json_out)
        return report
