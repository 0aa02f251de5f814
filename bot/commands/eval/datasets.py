"""Benchmarks in their public layouts, read into question items; nothing is written there.

- VQA-RAD: `VQA_RAD Dataset Public.json` (a list of items with `qid`, `image_name`,
  `question`, `answer`, `answer_type` CLOSED/OPEN, `phrase_type`) and
  `VQA_RAD Image Folder/`. Split `test` (the default) is the public test set (the items
  whose `phrase_type` is `test_freeform` or `test_para`); `all` is every item.
- SLAKE: `train.json`, `validate.json`, `test.json` (items with `qid`, `img_name` such
  as `xmlab102/source.jpg`, `question`, `answer`, `answer_type`, `q_lang` en/zh) and
  `imgs/`. Split `test` (the default, the split the card reports) or `validate`/`train`.
- labels: a CSV file; its first column is an image path (relative to the CSV's folder,
  or absolute), every other column a condition holding 1 (present) or 0 (absent). Each
  (image, condition) pair with a 1 or a 0 is one yes/no item; other values (blank,
  CheXpert's -1 for uncertain) are left out.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from bot.errors import ConfigError

Format = Literal["vqa-rad", "slake", "labels"]
FORMATS: tuple[str, ...] = get_args(Format)
VQA_RAD_JSON = "VQA_RAD Dataset Public.json"
VQA_RAD_IMAGES = "VQA_RAD Image Folder"
SLAKE_SPLITS = ("test", "validate", "train")
SLAKE_IMAGES = "imgs"
SPLITS: dict[str, tuple[str, ...]] = {
    "vqa-rad": ("test", "all"),
    "slake": SLAKE_SPLITS,
    "labels": ("all",),
}


@dataclass(frozen=True)
class Item:
    """One question about one image, with its reference answer."""

    id: str
    image: Path
    question: str  # the dataset's own question; empty for labels (see `condition`)
    reference: str  # the answer; labels: "yes" or "no"
    closed: bool
    group: str = ""  # SLAKE: the question's language ("en" or "zh")
    condition: str = ""  # labels: the condition asked about


@dataclass(frozen=True)
class Dataset:
    """A benchmark's items in the order the files list them."""

    format: Format
    split: str
    root: Path  # the folder (or CSV file) the items come from
    items: tuple[Item, ...]


def detect_format(path: Path) -> Format:
    """The format of a benchmark folder or CSV file, from the names it holds."""
    if path.is_file() and path.suffix.lower() == ".csv":
        return "labels"
    if (path / VQA_RAD_JSON).is_file():
        return "vqa-rad"
    if any((path / f"{split}.json").is_file() for split in SLAKE_SPLITS):
        return "slake"
    raise ConfigError(
        f"{path} is not a benchmark layout I know: expected a folder with "
        f"'{VQA_RAD_JSON}' (VQA-RAD), a folder with test.json and {SLAKE_IMAGES}/ (SLAKE) "
        "or a labels .csv file; pass --format to say which"
    )


def load_dataset(path: Path, *, format: Format, split: str | None = None) -> Dataset:
    """Read a benchmark; `split` None means the format's default (its first split)."""
    choices = SPLITS[format]
    chosen = split or choices[0]
    if chosen not in choices:
        raise ConfigError(f"--split for {format} must be one of {', '.join(choices)}")
    readers: dict[str, Callable[[Path, str], tuple[Item, ...]]] = {
        "vqa-rad": _vqa_rad,
        "slake": _slake,
        "labels": _labels,
    }
    items = readers[format](path, chosen)
    if not items:
        raise ConfigError(f"{path} holds no {format} items in split {chosen}")
    _check_unique(items, path)
    _check_images(items, path)
    return Dataset(format=format, split=chosen, root=path, items=items)


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError(f"cannot read {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ConfigError(f"{path} must hold a list of question objects")
    return data


def _field(entry: dict[str, Any], name: str, *, source: Path) -> str:
    value = entry.get(name)
    if value is None:
        raise ConfigError(f"an item of {source} has no '{name}'")
    return str(value).strip()


def _vqa_rad(folder: Path, split: str) -> tuple[Item, ...]:
    source = folder / VQA_RAD_JSON
    entries = _read_json(source)
    if split == "test":
        entries = [e for e in entries if str(e.get("phrase_type", "")).startswith("test")]
    return tuple(
        Item(
            id=str(entry.get("qid", index)),
            image=folder / VQA_RAD_IMAGES / _field(entry, "image_name", source=source),
            question=_field(entry, "question", source=source),
            reference=_field(entry, "answer", source=source),
            closed=_field(entry, "answer_type", source=source).upper() == "CLOSED",
        )
        for index, entry in enumerate(entries)
    )


def _slake(folder: Path, split: str) -> tuple[Item, ...]:
    source = folder / f"{split}.json"
    return tuple(
        Item(
            id=str(entry.get("qid", index)),
            image=folder / SLAKE_IMAGES / _field(entry, "img_name", source=source),
            question=_field(entry, "question", source=source),
            reference=_field(entry, "answer", source=source),
            closed=_field(entry, "answer_type", source=source).upper() == "CLOSED",
            group=_field(entry, "q_lang", source=source).lower(),
        )
        for index, entry in enumerate(_read_json(source))
    )


_LABEL_VALUES = {"1": "yes", "1.0": "yes", "0": "no", "0.0": "no"}


def _labels(path: Path, split: str) -> tuple[Item, ...]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError:
        raise ConfigError(f"cannot read {path}") from None
    if len(rows) < 2 or len(rows[0]) < 2:
        raise ConfigError(f"{path} needs a header (image path, then conditions) and rows")
    conditions = [name.strip() for name in rows[0][1:]]
    items = []
    for number, row in enumerate(rows[1:], start=1):
        if not row or not row[0].strip():
            continue
        image = path.parent / row[0].strip()  # an absolute path stays absolute
        for condition, value in zip(conditions, row[1:], strict=False):
            if (reference := _LABEL_VALUES.get(value.strip())) is not None:
                items.append(
                    Item(
                        id=f"{number}:{condition}",
                        image=image,
                        question="",
                        reference=reference,
                        closed=True,
                        condition=condition,
                    )
                )
    return tuple(items)


def _check_unique(items: Sequence[Item], source: Path) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ConfigError(f"{source} lists question id {item.id} twice")
        seen.add(item.id)


def _check_images(items: Sequence[Item], source: Path) -> None:
    """Every image exists: a missing one would fail the run hours in."""
    missing = sorted({item.image for item in items if not item.image.is_file()})
    if missing:
        # Counts only: a labels CSV's file names may name patients.
        raise ConfigError(f"{len(missing)} image(s) listed in {source} are missing")
