"""Small benchmarks in the public layouts, built by the tests, with known answers.

Each builder writes a folder (or CSV) exactly as the dataset ships: the JSON files'
field names, the image folders' names, and synthetic images (PNG, JPEG and a real DICOM
CT from pydicom's test files, so a DICOM item goes through the DICOM reader).
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from bot.backends.base import GenerationRequest
from bot.commands.eval.datasets import SLAKE_IMAGES, VQA_RAD_IMAGES, VQA_RAD_JSON
from tests.imaging.helpers import sample_path


def write_image(path: Path, colour: tuple[int, int, int] = (90, 90, 90)) -> Path:
    """A small synthetic image; the suffix picks PNG, JPEG or a DICOM CT (.dcm)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".dcm":
        shutil.copyfile(sample_path("CT_small.dcm"), path)
        return path
    buffer = io.BytesIO()
    Image.new("RGB", (40, 32), colour).save(
        buffer, format="PNG" if path.suffix == ".png" else "JPEG"
    )
    path.write_bytes(buffer.getvalue())
    return path


# VQA-RAD: five test questions and one training question (left out of the test split).
# (qid, image_name, question, answer, answer_type, phrase_type, the fake model's answer)
VQA_RAD_ROWS: tuple[tuple[int, str, str, str, str, str, str], ...] = (
    (1, "synpic1.jpg", "Is there a fracture?", "Yes", "CLOSED", "test_freeform", "Yes."),
    (
        2,
        "synpic1.jpg",
        "Is the heart enlarged?",
        "no",
        "CLOSED",
        "test_para",
        "Yes, it is enlarged.",
    ),
    (
        3,
        "synpic_ct.dcm",
        "What organ is shown?",
        "the liver",
        "OPEN",
        "test_freeform",
        "Liver and kidney",
    ),
    (4, "synpic2.png", "How many lesions are there?", "2", "OPEN", "test_freeform", "Two lesions"),
    (
        5,
        "synpic2.png",
        "Which side is the effusion on?",
        "left",
        "CLOSED",
        "test_para",
        "Left side.",
    ),
    (6, "synpic2.png", "Is this a training question?", "yes", "CLOSED", "freeform", "yes"),
)


def vqa_rad(folder: Path) -> Path:
    """VQA-RAD as published: one JSON list and the image folder."""
    entries = [
        {
            "qid": qid,
            "image_name": image,
            "image_case_url": "https://medpix.example/case",
            "image_organ": "CHEST",
            "answer": int(answer) if answer.isdigit() else answer,  # the JSON has bare numbers
            "answer_type": answer_type,
            "question_type": "PRES",
            "question": question,
            "phrase_type": phrase,
        }
        for qid, image, question, answer, answer_type, phrase, _ in VQA_RAD_ROWS
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / VQA_RAD_JSON).write_text(json.dumps(entries, indent=1), encoding="utf-8")
    for name in {row[1] for row in VQA_RAD_ROWS}:
        write_image(folder / VQA_RAD_IMAGES / name)
    return folder


VQA_RAD_ANSWERS = {row[2]: row[6] for row in VQA_RAD_ROWS}

# SLAKE: three English and three Chinese test questions, one validation question.
# (qid, img_name, question, answer, answer_type, q_lang, the fake model's answer)
SLAKE_TEST: tuple[tuple[int, str, str, str, str, str, str], ...] = (
    (11, "xmlab1/source.jpg", "Is this a CT image?", "Yes", "CLOSED", "en", "yes"),
    (12, "xmlab1/source.jpg", "Which organ is abnormal?", "Liver", "OPEN", "en", "The liver"),
    (13, "xmlab2/source.jpg", "What modality is used?", "MRI", "OPEN", "en", "CT"),
    (14, "xmlab1/source.jpg", "这是CT图像吗?", "是", "CLOSED", "zh", "不是"),
    (15, "xmlab2/source.jpg", "哪个器官异常?", "肝脏", "OPEN", "zh", "肝"),
    (16, "xmlab2/source.jpg", "图中有肿瘤吗?", "没有", "CLOSED", "zh", "没有。"),
)
SLAKE_VALIDATE = (
    (21, "xmlab2/source.jpg", "Is this the validation split?", "Yes", "CLOSED", "en", "yes"),
)


def _slake_entries(
    rows: Sequence[tuple[int, str, str, str, str, str, str]],
) -> list[dict[str, Any]]:
    return [
        {
            "img_id": int(image.split("/")[0].removeprefix("xmlab")),
            "img_name": image,
            "question": question,
            "answer": answer,
            "q_lang": lang,
            "location": "Abdomen",
            "modality": "CT",
            "answer_type": answer_type,
            "base_type": "vqa",
            "content_type": "Organ",
            "triple": ["vhead", "_", "_"],
            "qid": qid,
        }
        for qid, image, question, answer, answer_type, lang, _ in rows
    ]


def slake(folder: Path) -> Path:
    """SLAKE as published: train/validate/test JSON files and imgs/."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = {"test": SLAKE_TEST, "validate": SLAKE_VALIDATE, "train": ()}
    for split, rows in splits.items():
        text = json.dumps(_slake_entries(rows), ensure_ascii=False, indent=1)
        (folder / f"{split}.json").write_text(text, encoding="utf-8")
    for name in {row[1] for row in (*SLAKE_TEST, *SLAKE_VALIDATE)}:
        write_image(folder / SLAKE_IMAGES / name)
    return folder


SLAKE_ANSWERS = {row[2]: row[6] for row in (*SLAKE_TEST, *SLAKE_VALIDATE)}

# A labels CSV: image path, then one 0/1 column per condition (-1: uncertain, left out).
LABELS_HEADER = ("Path", "Effusion", "Pneumothorax")
LABELS_ROWS = (
    ("a.png", "1", "0"),
    ("b.png", "0", "0"),
    ("c.png", "1", "-1"),
    ("dicom/d.dcm", "0", "1"),
)
# The fake model's answers in item order (row by row, condition by condition).
LABELS_ANSWERS = (
    "Yes.",  # 1 Effusion (yes)
    "No.",  # 1 Pneumothorax (no)
    "Yes, a small one.",  # 2 Effusion (no)
    "There is no pneumothorax.",  # 2 Pneumothorax (no)
    "I cannot tell.",  # 3 Effusion (yes); 3 Pneumothorax is -1: not asked
    "no",  # 4 Effusion (no)
    "yes",  # 4 Pneumothorax (yes)
)


def labels(folder: Path) -> Path:
    """A labels CSV beside its images."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [",".join(LABELS_HEADER)] + [",".join(row) for row in LABELS_ROWS]
    path = folder / "labels.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for row in LABELS_ROWS:
        write_image(folder / row[0])
    return path


def dataset_question(request: GenerationRequest, questions: Mapping[str, str]) -> str:
    """The dataset question a request asks (the card template adds a line after it, the
    bot's safety line under MedGemma 1.5 comes before it)."""
    text = request.messages[-1].text.split("\n\n")[-1]
    for question in questions:
        if text.startswith(question):
            return question
    raise AssertionError(f"unexpected question {text!r}")


def answers_by_question(questions: Mapping[str, str]) -> Callable[[GenerationRequest], str]:
    """A fake model that answers each dataset question with its scripted answer."""
    return lambda request: questions[dataset_question(request, questions)]
