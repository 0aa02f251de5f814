"""Reading benchmarks in their public layouts (built by tests/commands/eval/layouts.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.commands.eval.datasets import VQA_RAD_IMAGES, VQA_RAD_JSON, detect_format, load_dataset
from bot.errors import ConfigError
from tests.commands.eval import layouts


def test_formats_are_detected_from_the_public_layouts(tmp_path: Path) -> None:
    assert detect_format(layouts.vqa_rad(tmp_path / "vqa")) == "vqa-rad"
    assert detect_format(layouts.slake(tmp_path / "slake")) == "slake"
    assert detect_format(layouts.labels(tmp_path / "cxr")) == "labels"
    with pytest.raises(ConfigError, match="--format"):
        detect_format(tmp_path)


def test_vqa_rad_test_split_is_the_public_test_set(tmp_path: Path) -> None:
    dataset = load_dataset(layouts.vqa_rad(tmp_path), format="vqa-rad")
    assert dataset.split == "test"
    assert [item.id for item in dataset.items] == ["1", "2", "3", "4", "5"]  # not 6 (train)
    first, _, ct, count, _ = dataset.items
    assert first.image == tmp_path / VQA_RAD_IMAGES / "synpic1.jpg"
    assert (first.question, first.reference, first.closed) == ("Is there a fracture?", "Yes", True)
    assert ct.image.suffix == ".dcm" and not ct.closed
    assert count.reference == "2"  # a bare JSON number read as text
    everything = load_dataset(tmp_path, format="vqa-rad", split="all")
    assert len(everything.items) == 6


def test_slake_reads_the_test_split_by_default_with_languages(tmp_path: Path) -> None:
    folder = layouts.slake(tmp_path)
    dataset = load_dataset(folder, format="slake")
    assert [item.id for item in dataset.items] == ["11", "12", "13", "14", "15", "16"]
    assert [item.group for item in dataset.items] == ["en"] * 3 + ["zh"] * 3
    assert dataset.items[0].image == folder / "imgs" / "xmlab1" / "source.jpg"
    validate = load_dataset(folder, format="slake", split="validate")
    assert [item.id for item in validate.items] == ["21"]


def test_labels_become_one_yes_no_item_per_known_value(tmp_path: Path) -> None:
    csv = layouts.labels(tmp_path)
    items = load_dataset(csv, format="labels").items
    # 4 rows x 2 conditions, less row 3's Pneumothorax (-1, uncertain)
    assert [item.id for item in items] == [
        "1:Effusion",
        "1:Pneumothorax",
        "2:Effusion",
        "2:Pneumothorax",
        "3:Effusion",
        "4:Effusion",
        "4:Pneumothorax",
    ]
    assert [item.reference for item in items] == ["yes", "no", "no", "no", "yes", "no", "yes"]
    assert all(item.closed for item in items)
    assert items[-1].image == tmp_path / "dicom" / "d.dcm"


@pytest.mark.parametrize(
    ("format", "split", "says"),
    [
        ("vqa-rad", "validate", "--split"),
        ("slake", "all", "--split"),
        ("labels", "test", "--split"),
    ],
)
def test_a_split_the_format_lacks_is_refused(
    tmp_path: Path, format: str, split: str, says: str
) -> None:
    builders = {"vqa-rad": layouts.vqa_rad, "slake": layouts.slake, "labels": layouts.labels}
    path = builders[format](tmp_path)
    with pytest.raises(ConfigError, match=says):
        load_dataset(path, format=format, split=split)  # type: ignore[arg-type]


def test_missing_images_are_found_before_the_run(tmp_path: Path) -> None:
    folder = layouts.vqa_rad(tmp_path)
    (folder / VQA_RAD_IMAGES / "synpic2.png").unlink()
    with pytest.raises(ConfigError, match="1 image"):
        load_dataset(folder, format="vqa-rad")


def test_duplicate_question_ids_are_refused(tmp_path: Path) -> None:
    folder = layouts.vqa_rad(tmp_path)
    entries = json.loads((folder / VQA_RAD_JSON).read_text(encoding="utf-8"))
    entries[1]["qid"] = entries[0]["qid"]
    (folder / VQA_RAD_JSON).write_text(json.dumps(entries), encoding="utf-8")
    with pytest.raises(ConfigError, match="twice"):
        load_dataset(folder, format="vqa-rad")


def test_a_malformed_file_says_so(tmp_path: Path) -> None:
    (tmp_path / VQA_RAD_JSON).write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_dataset(tmp_path, format="vqa-rad")
