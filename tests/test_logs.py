"""Tests for bot.logs: structured records, and exceptions without their messages."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import JsonFormatter, TextFormatter, event

SECRET = "secret patient text"


Captured = tuple[logging.Logger, io.StringIO]


def logger_to_buffer(fmt: str, *, tree: str = "bot") -> Captured:
    """A private logger writing through the `fmt` formatter into a buffer.

    Under `bot` it is one of the bot's own loggers; another `tree` makes it a library's.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger = logging.getLogger(f"{tree}.testing.{fmt}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream


@pytest.fixture(params=["json", "text"])
def captured(request: pytest.FixtureRequest) -> Iterator[Captured]:
    """Each formatter in turn."""
    logger, stream = logger_to_buffer(request.param)
    yield logger, stream
    logger.handlers.clear()


def fail_deep_inside() -> None:
    raise ValueError(SECRET)


def test_json_record_has_the_event_and_fields() -> None:
    logger, stream = logger_to_buffer("json")
    event(logger, "answer_posted", channel="C1", parts=2, seconds=1.5)
    record = json.loads(stream.getvalue())
    assert record["event"] == "answer_posted"
    assert record["level"] == "info"
    assert record["logger"] == logger.name
    assert (record["channel"], record["parts"], record["seconds"]) == ("C1", 2, 1.5)
    assert record["ts"].endswith("Z")


def test_text_record_has_the_event_and_fields() -> None:
    logger, stream = logger_to_buffer("text")
    event(logger, "answer_posted", level=logging.WARNING, channel="C1", parts=2)
    line = stream.getvalue().strip()
    assert "answer_posted" in line
    assert " warning " in line
    assert " channel=C1" in line
    assert " parts=2" in line
    assert "\n" not in line


def test_one_line_per_record(captured: Captured) -> None:
    logger, stream = captured
    event(logger, "first", n=1)
    event(logger, "second", n=2)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "first" in lines[0]
    assert "second" in lines[1]


def test_exception_shows_type_and_frames_not_message(
    captured: Captured,
) -> None:
    logger, stream = captured
    try:
        fail_deep_inside()
    except ValueError:
        logger.exception("decode_failed", extra={"fields": {"file": "F1"}})
    out = stream.getvalue()
    assert SECRET not in out
    assert "ValueError" in out
    assert "fail_deep_inside" in out
    assert "test_logs.py" in out
    assert "decode_failed" in out
    assert "F1" in out


def test_chained_exception_messages_stay_out(captured: Captured) -> None:
    logger, stream = captured
    try:
        try:
            fail_deep_inside()
        except ValueError as exc:
            raise RuntimeError(f"wrapped: {exc}") from exc
    except RuntimeError:
        logger.error("wrapped_failure", exc_info=True)
    out = stream.getvalue()
    assert SECRET not in out
    assert "RuntimeError" in out


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_foreign_log_arguments_are_not_formatted_in(fmt: str) -> None:
    logger, stream = logger_to_buffer(fmt, tree="somelibrary")
    logger.info("library says %s", SECRET)
    out = stream.getvalue()
    assert SECRET not in out
    assert "library says <str>" in out  # formatted, with the argument's type only


def test_no_exception_no_error_fields(captured: Captured) -> None:
    logger, stream = captured
    event(logger, "plain")
    assert "error_type" not in stream.getvalue()


def test_json_exception_fields() -> None:
    logger, stream = logger_to_buffer("json")
    try:
        fail_deep_inside()
    except ValueError:
        logger.exception("decode_failed")
    record = json.loads(stream.getvalue())
    assert record["error_type"] == "ValueError"
    assert record["frames"][-1].endswith(":fail_deep_inside")
    assert record["frames"][-1].startswith("test_logs.py:")
    assert SECRET not in json.dumps(record)


def test_a_field_never_replaces_the_records_own_keys() -> None:
    logger, stream = logger_to_buffer("json")
    event(logger, "posted", ts="1700000000.000100", level_name="x", event_id="Ev1")
    record = json.loads(stream.getvalue())
    assert record["ts"].endswith("Z")  # the record's time, not the Slack ts
    assert record["event"] == "posted"
    assert record["field_ts"] == "1700000000.000100"
    assert record["event_id"] == "Ev1"


def test_event_takes_exc_info() -> None:
    logger, stream = logger_to_buffer("json")
    try:
        fail_deep_inside()
    except ValueError:
        event(logger, "decode_failed", level=logging.WARNING, exc_info=True, file_id="F1")
    record = json.loads(stream.getvalue())
    assert (record["event"], record["file_id"], record["error_type"]) == (
        "decode_failed",
        "F1",
        "ValueError",
    )
    assert SECRET not in json.dumps(record)


def test_library_records_below_warning_never_reach_the_log() -> None:
    from bot.logs import LibraryFloor

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LibraryFloor())
    library = logging.getLogger("httpx.fake")
    own = logging.getLogger("bot.fake")
    for logger in (library, own):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    library.info("HTTP Request: %s %s", "POST", "https://slack.com/api/x?token=xoxb-1")
    library.warning("retrying %s", "https://slack.com/api/x?token=xoxb-1")
    event(own, "answered")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["retrying <str>", "answered"]
    assert "xoxb" not in stream.getvalue()


def test_a_library_message_built_with_an_f_string_keeps_only_what_failed() -> None:
    logger, stream = logger_to_buffer("json", tree="slack_sdk")
    try:
        raise ConnectionError(SECRET)
    except ConnectionError as exc:
        logger.exception(f"Failed to connect (error: {exc}); Retrying...")
    record = json.loads(stream.getvalue())
    assert record["event"] == "Failed to connect"
    assert record["error_type"] == "ConnectionError" and "frames" not in record
    assert SECRET not in stream.getvalue()


def test_a_library_retry_loop_logs_once_a_minute_and_counts_the_rest() -> None:
    from bot.logs import LibraryFloor

    now = [1000.0]
    logger, stream = logger_to_buffer("json", tree="slack_sdk")
    logger.handlers[0].addFilter(LibraryFloor(every_s=60, clock=lambda: now[0]))
    for _ in range(5):  # every 10 s, as Socket Mode retries
        logger.error(f"Failed to retrieve WSS URL: {SECRET}")
        now[0] += 10
    now[0] += 30
    logger.error("Failed to retrieve WSS URL: again")
    logger.warning("another kind of trouble")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["event"], r.get("repeated")) for r in records] == [
        ("Failed to retrieve WSS URL", None),
        ("Failed to retrieve WSS URL", 4),
        ("another kind of trouble", None),
    ]


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("pydicom", False),
        ("pydicom.pixels.decoders.base", False),
        ("PIL.TiffImagePlugin", False),
        ("_openjpeg", False),
        ("tifffile", False),
        ("slack_sdk.socket_mode", True),  # other libraries' warnings still reach the log
        ("pydicomish", True),
    ],
)
def test_the_file_readers_records_are_dropped_at_any_level(name: str, kept: bool) -> None:
    """The backstop should a file-reading library's level be lowered (pydicom's debug mode)."""
    from bot.logs import LibraryFloor

    logger, stream = logger_to_buffer("json", tree=name)
    logger.handlers[0].addFilter(LibraryFloor())
    logger.error("Unknown encoding '%s'", SECRET)
    assert bool(stream.getvalue()) is kept
    assert SECRET not in stream.getvalue()


def test_json_logs_are_not_interleaved_with_progress_bars(tmp_path: Path) -> None:
    # Loading weights draws a progress bar on stderr unless huggingface_hub is told not to.
    code = (
        "from bot import logs; logs.setup(fmt='json');"
        "from bot.backends.hf.synthetic import save_tiny_model;"
        "from transformers import AutoModelForImageTextToText as A;"
        "import sys; save_tiny_model(__import__('pathlib').Path(sys.argv[1]));"
        "A.from_pretrained(sys.argv[1])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "m")],
        env=env | {"HF_HOME": str(tmp_path / "hf")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Loading weights" not in done.stderr and "\r" not in done.stderr


def test_a_text_line_cannot_be_forged_by_a_field() -> None:
    record = logging.LogRecord("bot.slack", logging.INFO, __file__, 1, "event", None, None)
    record.fields = {"channel": "C1\n2026-01-01 error forged\r\x1b[2J\u2028", "n": 3}
    line = TextFormatter().format(record)
    assert line.endswith(" channel=C1\\n2026-01-01 error forged\\r\\x1b[2J\\x2028 n=3")
    assert len(line.splitlines()) == 1
