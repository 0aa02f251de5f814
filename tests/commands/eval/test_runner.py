"""Benchmarks through the bot's pipeline against a scripted fake model, figures by hand.

Every expected figure below is worked out in a comment from the fake's answers in
tests/commands/eval/layouts.py and the rules of bot.commands.eval.metrics.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.backends.base import GenerationRequest, ImagePart
from bot.commands.eval.command import EvalJob, Evaluation
from bot.commands.eval.runner import CARD_MAX_NEW_TOKENS
from bot.prompts import Prompts
from bot.settings import Settings
from tests.commands.eval import layouts
from tests.fakes.backend import FakeBackend, Step


async def evaluate(
    job: EvalJob, backend: FakeBackend, prompts: Prompts, settings: Settings | None = None
) -> tuple[dict[str, Any], str]:
    """Run a job to the end; the report and the printed table."""
    out = io.StringIO()
    evaluation = Evaluation(job, settings=settings or Settings())
    report = await evaluation.run(prompts=prompts, backend=backend, out=out, err=io.StringIO())
    return report, out.getvalue()


def records_by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in report["records"]}


async def test_vqa_rad_in_card_mode(tmp_path: Path, prompts: Prompts) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    backend = FakeBackend(answer=layouts.answers_by_question(layouts.VQA_RAD_ANSWERS))
    job = EvalJob(path=folder, records=tmp_path / "records.jsonl", json_out=tmp_path / "r.json")
    report, table = await evaluate(job, backend, prompts)
    # Tokenized F1 per question (the fake's answer against the reference):
    #   1 "Yes."                 / "Yes"       -> 1
    #   2 "Yes, it is enlarged." / "no"        -> 0 (nothing shared)
    #   3 "Liver and kidney"     / "the liver" -> P 1/3, R 1 -> 1/2 (the article dropped)
    #   4 "Two lesions"          / "2"         -> P 1/2, R 1 -> 2/3 (two -> 2)
    #   5 "Left side."           / "left"      -> P 1/2, R 1 -> 2/3
    # mean (1 + 0 + 1/2 + 2/3 + 2/3) / 5 = (17/6) / 5 = 17/30
    # Closed 1, 2, 5: yes = yes right; yes != no wrong; "left" opens "left side" right -> 2/3
    assert report["n"] == 5 and report["items"] == 5 and not report["partial"]
    assert report["tokenized_f1"] == pytest.approx(17 / 30)
    assert report["n_closed"] == 3
    assert report["closed_accuracy"] == pytest.approx(2 / 3)
    assert report["errors"] == 0 and report["groups"] == {}
    records = records_by_id(report)
    assert records["3"]["tokenized_f1"] == pytest.approx(0.5)
    assert records["2"]["correct"] is False and records["2"]["read_as"] == "yes"
    assert "| all | 5 | 56.7 | 66.7 (3) | 49.9 / 69.1 | 48.1 / 70.2 |" in table
    # the default model, MedGemma 1.5: its card is the one to compare with
    assert "The card to compare with: MedGemma 1.5 4B-it (the model run)." in table
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["n"] == 5


async def test_card_mode_asks_as_the_model_cards_do(tmp_path: Path, prompts: Prompts) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    backend = FakeBackend(answer=layouts.answers_by_question(layouts.VQA_RAD_ANSWERS))
    await evaluate(EvalJob(path=folder, records=tmp_path / "r.jsonl"), backend, prompts)
    assert len(backend.requests) == 5
    for request in backend.requests:
        # one user turn, no system prompt, the image before the text, a short budget
        assert [m.role for m in request.messages] == ["user"]
        assert request.max_new_tokens == CARD_MAX_NEW_TOKENS
        assert request.messages[0].text.endswith("\nAnswer with a single word or phrase.")
        assert prompts.abilities.safety not in request.messages[0].text  # as the cards ask
        assert len(request.messages[0].images) == 1
        assert isinstance(request.messages[0].parts[0], ImagePart)
    ct = question_request(backend.requests, "What organ is shown?")
    # the DICOM item went through the DICOM reader: CT_small's 128 x 128 pixels, windowed
    # into Google's three CT windows (one per channel, so the channels differ)
    pixels = np.asarray(ct.messages[0].images[0])
    assert pixels.shape == (128, 128, 3)
    assert (pixels[..., 0] != pixels[..., 1]).any()


def question_request(requests: list[GenerationRequest], question: str) -> GenerationRequest:
    return next(r for r in requests if r.messages[-1].text.split("\n\n")[-1].startswith(question))


async def test_bot_mode_asks_what_slack_users_ask(tmp_path: Path, prompts: Prompts) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    backend = FakeBackend(answer=layouts.answers_by_question(layouts.VQA_RAD_ANSWERS))
    job = EvalJob(path=folder, mode="bot", records=tmp_path / "r.jsonl")
    settings = Settings(model="google/medgemma-4b-it")
    await evaluate(job, backend, prompts, settings)
    request = question_request(backend.requests, "Is there a fracture?")
    # MedGemma 1: the radiologist's system prompt, the question as typed, the budget
    assert [m.role for m in request.messages] == ["system", "user"]
    assert request.messages[0].text == prompts.system_prompt("radiologist")
    assert request.messages[1].text == "Is there a fracture?"
    assert request.max_new_tokens == Settings().max_new_tokens


async def test_bot_mode_under_medgemma_15_has_the_safety_line_and_no_system_prompt(
    tmp_path: Path, prompts: Prompts
) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    backend = FakeBackend(answer=layouts.answers_by_question(layouts.VQA_RAD_ANSWERS))
    job = EvalJob(path=folder, mode="bot", records=tmp_path / "r.jsonl")
    await evaluate(job, backend, prompts)  # the default model, MedGemma 1.5
    request = question_request(backend.requests, "Is there a fracture?")
    assert [m.role for m in request.messages] == ["user"]
    assert request.messages[0].text == prompts.abilities.safety + "\n\nIs there a fracture?"


async def test_slake_reports_english_and_chinese_apart(tmp_path: Path, prompts: Prompts) -> None:
    folder = layouts.slake(tmp_path / "slake")
    backend = FakeBackend(answer=layouts.answers_by_question(layouts.SLAKE_ANSWERS))
    report, table = await evaluate(
        EvalJob(path=folder, records=tmp_path / "r.jsonl"), backend, prompts
    )
    # English:  11 "yes"/"Yes" 1 (closed, right); 12 "The liver"/"Liver" 1; 13 "CT"/"MRI" 0
    #   F1 (1 + 1 + 0) / 3 = 2/3; closed 1 of 1
    # Chinese (a token per character):
    #   14 "不是"/"是": P 1/2, R 1 -> 2/3; closed: 不 comes first -> no, wrong
    #   15 "肝"/"肝脏": P 1, R 1/2 -> 2/3
    #   16 "没有。"/"没有": 1; closed: 没 -> no, right
    #   F1 (2/3 + 2/3 + 1) / 3 = 7/9; closed 1 of 2
    # All: F1 (2 + 7/3) / 6 = 13/18; closed 2 of 3
    en, zh = report["groups"]["en"], report["groups"]["zh"]
    assert (en["n"], zh["n"], report["n"]) == (3, 3, 6)
    assert en["tokenized_f1"] == pytest.approx(2 / 3) and en["closed_accuracy"] == 1.0
    assert zh["tokenized_f1"] == pytest.approx(7 / 9) and zh["closed_accuracy"] == 0.5
    assert report["tokenized_f1"] == pytest.approx(13 / 18)
    assert report["closed_accuracy"] == pytest.approx(2 / 3)
    zh_question = question_request(backend.requests, "这是CT图像吗?")
    assert zh_question.messages[0].text.endswith("请用一个词或短语回答。")
    assert "| English | 3 | 66.7 | 100.0 (1) | 72.3 / 87.6 | 59.7 / 82.8 |" in table
    assert "| Chinese | 3 | 77.8 | 50.0 (2) | - | - |" in table


async def test_labels_report_macro_f1(tmp_path: Path, prompts: Prompts) -> None:
    csv = layouts.labels(tmp_path / "cxr")
    backend = FakeBackend()
    for answer in layouts.LABELS_ANSWERS:  # one at a time, so in item order
        backend.then(Step(chunks=[answer]))
    job = EvalJob(path=csv, records=tmp_path / "r.jsonl", concurrency=1)
    report, table = await evaluate(job, backend, prompts)
    # Effusion: 1 yes/yes TP; 2 "Yes, a small one."/no FP; 3 "I cannot tell."/yes FN (no
    #   yes read: negative); 4 no/no TN -> F1 2TP / (2TP + FP + FN) = 2 / 4 = 1/2
    # Pneumothorax: 1 no/no TN; 2 "There is no pneumothorax."/no TN; 4 yes/yes TP -> 2/2 = 1
    # macro F1 (1/2 + 1) / 2 = 3/4
    # closed accuracy: right 1, 2, 4 (Pneumothorax row 2), 6, 7 of 7 = 5/7
    # tokenized F1: 1, 1, 0, 1/4 precision & recall 1 -> 2/5, 0, 1, 1 -> 4.4 / 7
    assert report["n"] == 7
    assert report["conditions"]["Effusion"] == {"tp": 1, "fp": 1, "fn": 1, "tn": 1, "f1": 0.5}
    assert report["conditions"]["Pneumothorax"]["f1"] == 1.0
    assert report["macro_f1"] == pytest.approx(0.75)
    assert report["closed_accuracy"] == pytest.approx(5 / 7)
    assert report["tokenized_f1"] == pytest.approx(4.4 / 7)
    asked = [r.messages[0].text for r in backend.requests]
    assert asked[0] == "Is there effusion in this image? Answer yes or no."
    assert "| macro F1 | 7 | | | 75.0 |" in table


async def test_an_unreadable_image_is_scored_as_the_error_users_get(
    tmp_path: Path, prompts: Prompts
) -> None:
    folder = layouts.vqa_rad(tmp_path / "vqa-rad")
    (folder / "VQA_RAD Image Folder" / "synpic2.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    backend = FakeBackend(answer=layouts.answers_by_question(layouts.VQA_RAD_ANSWERS))
    report, table = await evaluate(
        EvalJob(path=folder, records=tmp_path / "r.jsonl"), backend, prompts
    )
    # questions 4 and 5 ask about the broken image: F1 0 and wrong
    # F1 (1 + 0 + 1/2 + 0 + 0) / 5 = 3/10; closed: 1 right of 3
    records = records_by_id(report)
    assert records["4"]["error"] == records["5"]["error"] == "corrupt_image"
    assert records["4"]["prediction"] == ""
    assert report["errors"] == 2 and len(backend.requests) == 3
    assert report["tokenized_f1"] == pytest.approx(3 / 10)
    assert report["closed_accuracy"] == pytest.approx(1 / 3)
    assert "2 item(s) got an error" in table
