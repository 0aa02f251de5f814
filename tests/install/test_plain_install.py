"""A plain, non-editable install without extras, as a hospital's IT person makes it.

`./scripts/test` builds `.venv-plain` from requirements/run.lock and runs these with
`-m install` and MEDGEMMA_PLAIN_VENV pointing at it. Each command runs as a new user's
would: its own working folder (no .env), no Slack or MedGemma variables set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plain() -> Path:
    """The plain install's bin/ folder."""
    where = os.environ.get("MEDGEMMA_PLAIN_VENV")
    if not where:
        raise RuntimeError("run through ./scripts/test, which sets MEDGEMMA_PLAIN_VENV")
    return (ROOT / where).resolve() / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a new user: none of the bot's own variables."""
    ours = ("SLACK_", "MEDGEMMA_", "HF_", "LOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return env | extra


def run(
    command: list[str], *, cwd: Path, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a command of the plain install; its output as text."""
    return subprocess.run(
        command, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=timeout
    )


def test_it_is_a_wheel_install_with_its_texts_and_no_test_tools(
    plain: Path, tmp_path: Path
) -> None:
    code = (
        "import importlib.util, pathlib, bot;"
        "p = pathlib.Path(bot.__file__).parent;"
        "print(p);"
        "print((p / 'prompts' / 'messages.toml').is_file(), (p / 'prompts' / 'locales').is_dir());"
        "print(importlib.util.find_spec('pytest') is None)"
    )
    out = run([str(plain / "python"), "-c", code], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    package, texts, no_pytest = out.stdout.splitlines()
    assert "site-packages" in package and not package.startswith(str(ROOT / "bot"))
    assert texts == "True True" and no_pytest == "True"


def test_every_module_imports(plain: Path, tmp_path: Path) -> None:
    code = (
        "import importlib, pkgutil, bot;"
        "names = [m.name for m in pkgutil.walk_packages(bot.__path__, 'bot.')"
        " if m.name != 'bot.__main__'];"
        "[importlib.import_module(n) for n in names];"
        "print(len(names))"
    )
    out = run([str(plain / "python"), "-c", code], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout) > 100


def test_run_without_tokens_says_what_to_set_in_one_line(plain: Path, tmp_path: Path) -> None:
    out = run([str(plain / "medgemma-bot"), "run"], cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "SLACK_BOT_TOKEN" in out.stderr


@pytest.fixture(scope="module")
def tiny_model(plain: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random Gemma 3, built by the plain install's own code."""
    folder = tmp_path_factory.mktemp("tiny-model")
    code = (
        "import sys, pathlib;"
        "from bot.backends.hf.synthetic import save_tiny_model;"
        "save_tiny_model(pathlib.Path(sys.argv[1]))"
    )
    out = run([str(plain / "python"), "-c", code, str(folder)], cwd=folder)
    assert out.returncode == 0, out.stderr[-2000:]
    return folder


def test_doctor_without_tokens_reports_instead_of_crashing(
    plain: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = run([str(plain / "medgemma-bot"), "doctor"], cwd=tmp_path, MEDGEMMA_MODEL=str(tiny_model))
    assert out.returncode == 1
    assert "Traceback" not in out.stdout + out.stderr
    assert "SLACK_BOT_TOKEN" in out.stdout


def test_ask_answers_with_the_tiny_model(plain: Path, tiny_model: Path, tmp_path: Path) -> None:
    image = tmp_path / "chest.png"
    Image.new("L", (64, 48), color=90).save(image)
    out = run(
        [str(plain / "medgemma-bot"), "ask", str(image), "-q", "What do you see?"],
        cwd=tmp_path,
        MEDGEMMA_MODEL=str(tiny_model),
        MEDGEMMA_DEVICE="cpu",
        MEDGEMMA_MAX_NEW_TOKENS="8",
        HF_HUB_OFFLINE="1",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "qualified clinician" in out.stdout  # the disclaimer, after the answer
    assert "Traceback" not in out.stderr


def test_this_test_runs_outside_the_plain_install() -> None:
    # The checks above drive the plain install from the test venv: never the same interpreter.
    assert "venv-plain" not in sys.prefix
