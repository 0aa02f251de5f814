"""Tests for bot.prompts: loading and checking bot/prompts/, and filling messages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot import errors
from bot.errors import BotError, ConfigError
from bot.prompts import IMAGE_SET_KEYS, Prompts, fill, load_prompts, profile_for
from bot.settings import DEFAULT_PROMPTS, SPECIALTIES


@pytest.fixture(scope="module")
def prompts() -> Prompts:
    return load_prompts(DEFAULT_PROMPTS)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the real prompts folder to break."""
    copy = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS, copy)
    return copy


def bot_errors() -> list[type[BotError]]:
    return [
        cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, BotError)
    ]


def test_the_real_folder_loads(prompts: Prompts) -> None:
    assert set(prompts.system) == set(SPECIALTIES)
    for specialty in SPECIALTIES:
        assert prompts.system_prompt(specialty).strip()
    assert set(prompts.image_sets) >= set(IMAGE_SET_KEYS)
    assert prompts.disclaimer.strip()
    assert prompts.loading()
    assert all(isinstance(m, str) and m for m in prompts.loading())


@pytest.mark.parametrize("cls", bot_errors(), ids=lambda cls: cls.__name__)
def test_every_error_has_a_message(prompts: Prompts, cls: type[BotError]) -> None:
    assert prompts.messages["errors"][cls.message_key].strip()


@pytest.mark.parametrize("key", IMAGE_SET_KEYS)
def test_every_image_set_text_fills(prompts: Prompts, key: str) -> None:
    text = prompts.image_sets[key].format(
        count=12, total=40, modality="CT", magnification="about 10x"
    )
    assert "12" in text and "{" not in text


def test_prompt_profiles(prompts: Prompts) -> None:
    # Google's recipes: one short line for MedGemma 1, no system prompt for 1.5.
    first = prompts.system_prompt("radiologist", profile="google", model="google/medgemma-4b-it")
    assert first == "You are an expert radiologist."
    assert prompts.system_prompt("radiologist", profile="google", model="medgemma-1.5-4b-it") == ""
    assert len(prompts.system_prompt("radiologist", profile="bot")) > 200
    assert profile_for("auto", "google/medgemma-1.5-4b-it") == "google"
    assert profile_for("auto", "google/medgemma-4b-it") == "bot"
    assert profile_for("bot", "google/medgemma-1.5-4b-it") == "bot"


def test_no_prompt_asks_for_confidence_or_measurements(prompts: Prompts) -> None:
    # The model's confidence is not calibrated, and resampled images carry no scale.
    for specialty in SPECIALTIES:
        text = prompts.system_prompt(specialty).lower()
        assert "how confident" not in text and "how large" not in text, specialty
        assert "same patient" in text, specialty
    assert "not intended to directly inform diagnosis" in prompts.disclaimer


@pytest.mark.parametrize(
    "name",
    [
        *(f"{s}.md" for s in SPECIALTIES),
        "image_sets.toml",
        "google.toml",
        "disclaimer.md",
        "messages.toml",
    ],
)
def test_a_missing_file_is_named(folder: Path, name: str) -> None:
    (folder / name).unlink()
    with pytest.raises(ConfigError, match=re.escape(name)):
        load_prompts(folder)


@pytest.mark.parametrize("name", ["disclaimer.md", "radiologist.md"])
def test_an_empty_file_is_named(folder: Path, name: str) -> None:
    (folder / name).write_text("  \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(name)):
        load_prompts(folder)


def drop_line(path: Path, pattern: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [ln for ln in lines if not re.match(pattern, ln)]
    assert len(kept) == len(lines) - 1, f"{pattern} should match exactly one line"
    path.write_text("".join(kept), encoding="utf-8")


@pytest.mark.parametrize("key", ["busy", "too_much_text", "internal_error", "backend_timeout"])
def test_a_missing_error_message_is_named(folder: Path, key: str) -> None:
    drop_line(folder / "messages.toml", rf"{key}\s*=")
    with pytest.raises(ConfigError, match=rf"\[errors\].*\b{key}\b"):
        load_prompts(folder)


@pytest.mark.parametrize("section", ["status", "notes", "format"])
def test_a_missing_section_is_named(folder: Path, section: str) -> None:
    path = folder / "messages.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(f"[{section}]", "[unused]"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=re.escape(f"[{section}]")):
        load_prompts(folder)


def test_invalid_toml_is_named(folder: Path) -> None:
    (folder / "messages.toml").write_text("[errors\nbusy = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape("messages.toml")):
        load_prompts(folder)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MEDGEMMA_PROMPTS_DIR"):
        load_prompts(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("exc", "params"),
    [
        (errors.TooMuchText("secret patient text in the detail", tokens=9000), {}),
        (errors.UnsupportedFileType("secret patient text", kind="pdf"), {}),
        (errors.FileTooLarge("secret patient text", limit_mb=50), {}),
        (errors.BackendTimeout("secret patient text"), {}),
        (errors.BotError("secret patient text"), {}),  # the base class: internal_error
    ],
    ids=["too much text", "unsupported", "too large", "timeout", "base"],
)
def test_error_text_has_the_id_and_never_the_detail(
    prompts: Prompts, exc: BotError, params: dict[str, object]
) -> None:
    text = prompts.error_text(exc, error_id="a1b2c3", **params)
    assert "a1b2c3" in text
    assert "secret" not in text
    if not exc.params.get("kind"):
        expected = prompts.text("errors", exc.message_key, **{**exc.params, **params})
        assert expected in text


def test_error_text_fills_the_errors_params(prompts: Prompts) -> None:
    text = prompts.error_text(errors.FileTooLarge(limit_mb=25), error_id="x")
    assert "25 MB" in text
    text = prompts.error_text(errors.UnsupportedFileType(kind="html"), error_id="x")
    assert "web page (HTML)" in text
    assert prompts.text("formats", "supported") in text
    assert "{" not in text


def test_an_error_is_in_one_language_kind_and_formats_included() -> None:
    prompts = load_prompts(DEFAULT_PROMPTS)
    text = prompts.error_text(errors.UnsupportedFileType(kind="text"), error_id="x", language="de")
    assert "Textdatei" in text and "Fotos als PNG" in text
    assert "text file" not in text and "photos" not in text


def test_text_fills_placeholders(prompts: Prompts) -> None:
    text = prompts.text("notes", "images_capped", used=8, total=11)
    assert "8" in text
    assert "11" in text
    assert "{" not in text


def test_text_without_its_values_leaves_blanks(prompts: Prompts) -> None:
    text = prompts.text("notes", "images_capped")
    assert "{" not in text
    assert "}" not in text


# (template, params, expected)
FILL: list[tuple[str, dict[str, object], str]] = [
    ("{a} and {b}", {"a": 1, "b": "two"}, "1 and two"),
    ("{a} and {b}", {"a": 1}, "1 and "),
    ("{unknown}", {}, ""),
    ("no placeholders", {"a": 1}, "no placeholders"),
    ("{{literal}} {a}", {"a": "x"}, "{literal} x"),
    ("{a}{a}", {"a": "r"}, "rr"),
]


@pytest.mark.parametrize(("template", "params", "expected"), FILL)
def test_fill(template: str, params: dict[str, object], expected: str) -> None:
    assert fill(template, params) == expected
