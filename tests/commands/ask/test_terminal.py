"""`medgemma-bot ask` in the terminal: paths checked before the model loads, folders of
slices asked about as a series, and the bot's own messages for failures, never a traceback.

The model is a scripted backend; `create_backend` is replaced by a factory that records
whether a backend was ever made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import bot.backends
from bot import cli
from bot.commands.ask.terminal import local_files, plain
from bot.errors import BackendTimeout, BotError, UnsupportedFileType
from bot.prompts import Prompts
from bot.settings import Settings
from tests.commands.helpers import environment
from tests.e2e.harness import png_bytes
from tests.fakes.backend import FakeBackend, Step
from tests.imaging.helpers import ct_slices

SECRET = "secret patient text in an exception"


@dataclass
class Factory:
    """Stands in for `create_backend`: remembers the backends it made."""

    made: list[FakeBackend] = field(default_factory=list)
    script: list[Step] = field(default_factory=list)

    def __call__(self, settings: Settings, *, progress: Any = None) -> FakeBackend:
        backend = FakeBackend()
        for step in self.script:
            backend.then(step)
        self.made.append(backend)
        return backend


@pytest.fixture
def backends(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Factory:
    environment(monkeypatch, tmp_path)
    factory = Factory()
    monkeypatch.setattr(bot.backends, "create_backend", factory)
    return factory


def ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, list[str]]:
    """Exit status, stdout and the lines of stderr of `medgemma-bot ask ARGS`."""
    code = cli.main(["ask", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def bad_path(kind: str, folder: Path) -> Path:
    """A path `ask` must refuse before loading the model."""
    path = folder / f"bad-{kind}"
    if kind == "missing":
        return path
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
        (path / ".DS_Store").write_bytes(png_bytes())  # hidden: left out
        (path / "series").mkdir()  # sub-folders are not read
        (path / "series" / "slice.png").write_bytes(png_bytes())
    else:
        path.write_bytes(
            {
                "text": b"Findings: none.\n",
                "html": b"<!DOCTYPE html><html><body>Sign in</body></html>",
            }[kind]
        )
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("missing", "no such file or folder"),
        ("fifo", "not a file or folder"),
        ("folder", "no image, DICOM or zip file in this folder (sub-folders are not read)"),
        ("text", "I can't read text file files. I read PNG, JPEG"),
        ("html", "I can't read web page (HTML) files."),
    ],
)
def test_a_path_that_cannot_be_asked_about_stops_before_the_model_loads(
    backends: Factory, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, says: str
) -> None:
    path = bad_path(kind, tmp_path)
    good = tmp_path / "good.png"
    good.write_bytes(png_bytes())
    code, out, err = ask(capsys, str(good), str(path), "-q", "what is this?")
    assert (code, out, len(err)) == (2, "", 1)
    assert err[0].startswith(f"medgemma-bot: {path}: {says}")
    assert backends.made == []  # no backend made, none started


def unreadable_file(tmp_path: Path) -> Path:
    """A file this process cannot read: mode 000, or for root a file no one can read."""
    if os.geteuid() != 0:
        path = tmp_path / "locked.png"
        path.write_bytes(png_bytes())
        path.chmod(0)
        return path
    path = Path("/proc/self/mem")  # reading its first bytes fails for everyone (EIO)
    if not path.is_file():
        pytest.skip("no file here that root cannot read")
    return path


def test_an_unreadable_file_stops_before_the_model_loads(
    backends: Factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = unreadable_file(tmp_path)
    code, _, err = ask(capsys, str(path))
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"medgemma-bot: {path}: cannot be read (")
    assert backends.made == []


def test_nothing_to_ask_about_stops_at_once(
    backends: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = ask(capsys)
    assert code == 2 and err == [
        "medgemma-bot: give image, DICOM or zip files (or a folder), or a question with -q"
    ]
    assert backends.made == []


def test_a_folder_of_dicom_slices_is_asked_about_as_one_series(
    backends: Factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "CT"
    folder.mkdir()
    for n, data in enumerate(ct_slices(5)):
        (folder / f"IM{n:04d}").write_bytes(data)
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "README.txt").write_text("exported by the PACS\n", encoding="utf-8")
    (folder / "localizer").mkdir()
    (folder / "localizer" / "scout.png").write_bytes(png_bytes())
    code, out, err = ask(capsys, str(folder), "-q", "any bleed?")
    assert code == 0, err
    assert err == [f"medgemma-bot: {folder}: left out 1 file(s) that are not images, DICOM or zip"]
    [backend] = backends.made
    [request] = backend.requests
    assert sum(len(m.images) for m in request.messages) == 5  # the slices, not the scout
    assert "5 image(s) reviewed" in out
    assert "Note: Read 5 of the series' 5 slices" in out  # one CT volume, not five images
    assert backend.closed


def test_local_files_sorts_a_folder_and_leaves_hidden_files_out(tmp_path: Path) -> None:
    for name in ("b.png", "a.png", ".hidden.png", "c.png"):
        (tmp_path / name).write_bytes(png_bytes())
    files, left_out = local_files([tmp_path], prompts=_prompts(), language="en")
    assert [f.name for f in files] == ["a.png", "b.png", "c.png"] and left_out == []


def _prompts() -> Prompts:
    from bot.prompts import load_prompts
    from bot.settings import DEFAULT_PROMPTS

    return load_prompts(DEFAULT_PROMPTS)


def damaged_png(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.png"
    path.write_bytes(png_bytes()[:40])  # a PNG's signature and header, then nothing
    return path


@pytest.mark.parametrize(
    ("trouble", "says"),
    [
        ("timeout", "The model took too long to answer. Please try again"),
        ("damaged", "I could not read this image: the file seems damaged or incomplete."),
        ("long", "Your message is too long for the model's context."),
    ],
)
def test_a_failure_while_answering_is_the_bots_own_message_in_plain_words(
    backends: Factory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    trouble: str,
    says: str,
) -> None:
    image = tmp_path / "cxr.png"
    image.write_bytes(png_bytes())
    args = [str(image), "-q", "what is this?"]
    if trouble == "timeout":
        backends.script.append(Step(error=BackendTimeout("no answer in time", seconds=1)))
    elif trouble == "damaged":
        args[0] = str(damaged_png(tmp_path))
    else:
        args[-1] = "why " * 200_000
    code, _, err = ask(capsys, *args)
    assert code == 1
    assert err[-1].startswith(f"medgemma-bot: {says}")
    assert not any(mark in err[-1] for mark in (":warning:", "`", "error id", "*"))
    assert not any("Traceback" in line for line in err)
    assert all(backend.closed for backend in backends.made)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_an_unexpected_error_is_one_line_and_debug_shows_where(
    backends: Factory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    level: str,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", level)
    image = tmp_path / "cxr.png"
    image.write_bytes(png_bytes())
    backends.script.append(Step(error=RuntimeError(SECRET)))
    code, _, err = ask(capsys, str(image))
    assert code == 1
    assert err[-1] == (
        "medgemma-bot: unexpected error (RuntimeError); run with LOG_LEVEL=DEBUG for details"
    )
    details = [line for line in err if "ask_failed" in line]
    if level == "DEBUG":
        [line] = details
        assert "error_type=RuntimeError" in line and "frames=" in line
    else:
        assert details == []
    assert not any(SECRET in line or "Traceback" in line for line in err)


@pytest.mark.parametrize(
    ("slack", "terminal"),
    [
        (":warning: *Stopped* (error id `a1b2`)", "Stopped (error id a1b2)"),
        (
            "add the `files:read` scope to <https://api.slack.com/apps|your app>",
            "add the files:read scope to your app",
        ),
        ("ask <@U0123> or <#C0456>", "ask @U0123 or #C0456"),
        ("_Interrupted: I was restarting._", "Interrupted: I was restarting."),
        ("MEDGEMMA_MAX_FILE_MB and snake_case stay", "MEDGEMMA_MAX_FILE_MB and snake_case stay"),
    ],
)
def test_plain_takes_slack_markup_out(slack: str, terminal: str) -> None:
    assert plain(slack) == terminal


def test_every_error_message_reads_plainly(prompts: Prompts) -> None:
    for key in prompts.messages["errors"]:
        error = type("Error", (BotError,), {"message_key": key})(kind="pdf")
        shown = plain(prompts.error_message(error))
        assert shown and not any(mark in shown for mark in ("`", ":warning:", "*")), key
    assert "PDF" in plain(prompts.error_message(UnsupportedFileType(kind="pdf")))
