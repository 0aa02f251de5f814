"""Structured logs that are safe for patient data.

Every record is one JSON line (or key=value text) with an event name and fields the
caller chose: ids, sizes, counts, timings. Exceptions are rendered as their type and
stack frames only: exception messages can quote user text, file names or header values,
so they never reach the log.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Mapping
from types import TracebackType
from typing import Any

# Libraries that log request bodies or message payloads at DEBUG/INFO.
_QUIET = (
    "slack_bolt",
    "slack_sdk",
    "aiohttp.access",
    "openai",
    "httpx",
    "httpcore",
    "urllib3",
    "transformers",
    "PIL",
    "pydicom",
    "filelock",
    "asyncio",
)


def safe_exception(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None] | None,
) -> dict[str, Any]:
    """The exception's type and where it was raised, without its message."""
    if not exc_info or exc_info[0] is None:
        return {}
    exc_type, _, tb = exc_info
    frames = [
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in traceback.extract_tb(tb)
    ]
    return {"error_type": exc_type.__name__, "frames": frames[-6:]}


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The record as a flat dict: time, level, logger, event and the caller's fields."""
    data: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        # Our own loggers pass a fixed event name; others' messages are kept only as a
        # template (record.msg), never formatted with their arguments.
        "event": str(record.msg),
    }
    extra = getattr(record, "fields", None)
    if isinstance(extra, Mapping):
        data.update(extra)
    data.update(safe_exception(record.exc_info))  # type: ignore[arg-type]
    return data


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record."""
        return json.dumps(fields_of(record), default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable `event key=value` lines for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record."""
        data = fields_of(record)
        head = f"{data.pop('ts')} {data.pop('level'):<7} {data.pop('event')}"
        data.pop("logger")
        return head + "".join(f" {k}={v}" for k, v in data.items())


def setup(*, level: str = "INFO", fmt: str = "json") -> None:
    """Install the formatter on the root logger and quieten chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet_libraries()


def quiet_libraries() -> None:
    """Keep libraries that log payloads (request bodies, messages) at WARNING and above."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def event(logger: logging.Logger, name: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log an event with structured fields (ids, sizes, timings; never user content)."""
    logger.log(level, name, extra={"fields": fields})
