"""The house rules that keep the code easy to read: short functions, settings documented."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_FUNCTION_LINES = 50


def test_no_function_in_bot_is_longer_than_a_screen() -> None:
    long = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert long == [], "split these functions: " + ", ".join(long)


MAX_MODULES_IN_A_FOLDER = 15  # besides its __init__
LOOSE_IN_BOT = {"__init__", "__main__", "cli", "errors", "logs", "settings", "specialty"}


def test_no_folder_holds_more_modules_than_one_can_take_in() -> None:
    crowded = {
        str(folder.relative_to(ROOT)): count
        for folder in [ROOT / "bot", *(ROOT / "bot").rglob("*/")]
        if folder.is_dir() and folder.name != "__pycache__"
        if (count := len([p for p in folder.glob("*.py") if p.name != "__init__.py"]))
        > MAX_MODULES_IN_A_FOLDER
    }
    assert crowded == {}, "give these folders sub-folders: " + str(crowded)


def test_bot_keeps_only_its_entry_points_and_basics_loose() -> None:
    loose = {p.stem for p in (ROOT / "bot").glob("*.py")}
    assert loose <= LOOSE_IN_BOT, f"put these in a folder: {sorted(loose - LOOSE_IN_BOT)}"


def test_no_formatting_is_switched_off_to_pass_the_length_rule() -> None:
    skipped = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "fmt: skip" in line or "fmt: off" in line
    ]
    assert skipped == []


def test_only_the_failure_helper_reads_slack_error_codes() -> None:
    # One place turns a SlackApiError into its code (webapi/failures.py: slack_code).
    readers = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if '.response.get("error"' in (text := path.read_text(encoding="utf-8"))
        or '.response["error"]' in text
    ]
    assert readers == ["bot/slack/webapi/failures.py"]
