"""Interrupting a run keeps what is done; `--resume` asks only what is left."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from pathlib import Path

import pytest

from bot.commands.eval.command import EvalJob, Evaluation
from bot.errors import BackendUnavailable, ConfigError
from bot.prompts import Prompts
from bot.settings import Settings
from tests.commands.eval import layouts
from tests.e2e.harness import wait_until
from tests.fakes.backend import FakeBackend, Step


def answering() -> FakeBackend:
    return FakeBackend(answer=layouts.answers_by_question(layouts.VQA_RAD_ANSWERS))


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


async def test_interrupt_writes_partial_results_and_resume_finishes(
    tmp_path: Path, prompts: Prompts
) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    records, report_path = tmp_path / "records.jsonl", tmp_path / "report.json"
    job = EvalJob(path=folder, records=records, json_out=report_path, concurrency=1)
    first = answering().then(Step()).then(Step()).then(Step(hang=True))  # the 3rd never ends
    out = io.StringIO()
    task = asyncio.create_task(
        Evaluation(job, settings=Settings()).run(
            prompts=prompts, backend=first, out=out, err=io.StringIO()
        )
    )
    await wait_until(lambda: len(first.requests) == 3)
    task.cancel()  # what Ctrl-C does to `asyncio.run`'s task
    with pytest.raises(asyncio.CancelledError):
        await task
    partial = json.loads(report_path.read_text(encoding="utf-8"))
    # questions 1 ("Yes." right, F1 1) and 2 ("Yes, it is enlarged." wrong, F1 0) are done
    assert partial["partial"] is True and (partial["n"], partial["items"]) == (2, 5)
    assert partial["tokenized_f1"] == pytest.approx(0.5)
    assert partial["closed_accuracy"] == pytest.approx(0.5)
    assert "interrupted: partial results" in out.getvalue()
    assert len(lines(records)) == 1 + 2  # the header and two records

    second = answering()
    resumed = Evaluation(dataclasses.replace(job, resume=True), settings=Settings())
    report = await resumed.run(
        prompts=prompts, backend=second, out=io.StringIO(), err=io.StringIO()
    )
    asked = [r.messages[-1].text.split("\n")[0] for r in second.requests]
    assert asked == [
        "What organ is shown?",
        "How many lesions are there?",
        "Which side is the effusion on?",
    ]
    # the whole run's figures, as in test_runner: F1 17/30, closed 2/3
    assert report["partial"] is False and report["n"] == 5
    assert [r["id"] for r in report["records"]] == ["1", "2", "3", "4", "5"]
    assert report["tokenized_f1"] == pytest.approx(17 / 30)
    assert report["closed_accuracy"] == pytest.approx(2 / 3)
    assert len(lines(records)) == 1 + 5


async def test_a_model_server_gone_mid_run_still_leaves_the_partial_report(
    tmp_path: Path, prompts: Prompts
) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    job = EvalJob(path=folder, records=tmp_path / "r.jsonl", json_out=tmp_path / "r.json")
    gone = BackendUnavailable("the server went away")
    backend = answering().then(Step()).then(Step()).then(Step(error=gone))
    evaluation = Evaluation(dataclasses.replace(job, concurrency=1), settings=Settings())
    with pytest.raises(BackendUnavailable):
        await evaluation.run(prompts=prompts, backend=backend, out=io.StringIO(), err=io.StringIO())
    partial = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert partial["partial"] is True and partial["n"] == 2 and partial["errors"] == 0


async def test_resume_asks_again_what_got_an_error(tmp_path: Path, prompts: Prompts) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    image = folder / "VQA_RAD Image Folder" / "synpic2.png"
    good = image.read_bytes()
    image.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    job = EvalJob(path=folder, records=tmp_path / "r.jsonl")
    await Evaluation(job, settings=Settings()).run(
        prompts=prompts, backend=answering(), out=io.StringIO(), err=io.StringIO()
    )
    image.write_bytes(good)  # the file is fixed
    again = answering()
    resumed = Evaluation(dataclasses.replace(job, resume=True), settings=Settings())
    report = await resumed.run(prompts=prompts, backend=again, out=io.StringIO(), err=io.StringIO())
    assert len(again.requests) == 2  # questions 4 and 5 only
    assert report["errors"] == 0 and report["tokenized_f1"] == pytest.approx(17 / 30)


def test_an_existing_records_file_needs_resume(tmp_path: Path) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    records = tmp_path / "r.jsonl"
    header = {"medgemma_eval": 1, "format": "vqa-rad", "split": "test", "mode": "card"}
    record = {"id": "1"}
    records.write_text(json.dumps(header) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="--resume"):
        Evaluation(EvalJob(path=folder, records=records), settings=Settings())


def test_resume_refuses_the_records_of_another_run(tmp_path: Path) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    records = tmp_path / "r.jsonl"
    Evaluation(EvalJob(path=folder, records=records), settings=Settings()).log.close()
    with pytest.raises(ConfigError, match="another run"):
        Evaluation(
            EvalJob(path=folder, records=records, mode="bot", resume=True), settings=Settings()
        )


async def test_a_record_cut_short_by_a_kill_is_dropped(tmp_path: Path, prompts: Prompts) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    records = tmp_path / "r.jsonl"
    job = EvalJob(path=folder, records=records, limit=2)
    await Evaluation(job, settings=Settings()).run(
        prompts=prompts, backend=answering(), out=io.StringIO(), err=io.StringIO()
    )
    text = records.read_text(encoding="utf-8")
    records.write_text(text[: -len(lines(records)[-1]) // 2], encoding="utf-8")  # half a line
    again = answering()
    resumed = Evaluation(dataclasses.replace(job, resume=True), settings=Settings())
    report = await resumed.run(prompts=prompts, backend=again, out=io.StringIO(), err=io.StringIO())
    assert len(again.requests) == 1 and report["n"] == 2
    assert all(json.loads(line) for line in lines(records))  # every line whole again


def test_nothing_is_written_into_the_benchmark(tmp_path: Path) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    with pytest.raises(ConfigError, match="inside the benchmark"):
        Evaluation(EvalJob(path=folder, records=folder / "r.jsonl"), settings=Settings())
    with pytest.raises(ConfigError, match="inside the benchmark"):
        Evaluation(
            EvalJob(path=folder, records=tmp_path / "r.jsonl", json_out=folder / "sub" / "r.json"),
            settings=Settings(),
        )
    assert not (tmp_path / "r.jsonl").exists()  # refused before anything was started
