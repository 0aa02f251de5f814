"""The eval command end to end on the tiny random Gemma 3: the real in-process backend.

The weights are random, so the figures mean nothing; what is tested is the path: the
benchmark's files (a DICOM CT among them) through the file loader, the pipeline and
the transformers backend, and a report with every field filled.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from bot.backends import create_backend
from bot.commands.eval.command import EvalJob, Evaluation
from bot.prompts import Prompts
from bot.settings import load_settings
from tests.commands.eval import layouts


async def test_vqa_rad_on_the_tiny_model(
    tiny_model_dir: Path, tmp_path: Path, prompts: Prompts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.pipeline.pipeline")
    settings = load_settings(
        {
            "MEDGEMMA_MODEL": str(tiny_model_dir),
            "MEDGEMMA_DEVICE": "cpu",
            "MEDGEMMA_SLOT_TOKENS": "4096",
            "MEDGEMMA_CONTEXT_TOKENS": "4096",
            "MEDGEMMA_MAX_BATCH": "2",
        }
    )
    folder = layouts.vqa_rad(tmp_path / "VQA-RAD")
    job = EvalJob(path=folder, records=tmp_path / "r.jsonl", max_new_tokens=8)
    evaluation = Evaluation(job, settings=settings)
    backend = create_backend(settings)
    await backend.start()
    out = io.StringIO()
    try:
        report = await evaluation.run(prompts=prompts, backend=backend, out=out, err=io.StringIO())
    finally:
        await backend.aclose()
    assert report["n"] == 5 and report["errors"] == 0 and report["backend"] == "transformers"
    assert 0.0 <= report["tokenized_f1"] <= 1.0 and 0.0 <= report["closed_accuracy"] <= 1.0
    assert all(isinstance(r["prediction"], str) for r in report["records"])
    assert "| all | 5 |" in out.getvalue()
    answered = [r for r in caplog.records if r.getMessage() == "answered"]
    # each question reached the model with its one image (the DICOM CT's included)
    assert [r.fields["images"] for r in answered] == [1] * 5  # type: ignore[attr-defined]
    print(out.getvalue())  # the table, for `pytest -s`
