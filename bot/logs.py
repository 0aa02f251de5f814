"""Structured logs that are safe for patient data.

Every record is one JSON line (or key=value text) with an event name and fields the
caller chose: ids, sizes, counts, timings. Exceptions are rendered as their type and
stack frames only: exception messages can quote user text, file names or header values,
so they never reach the log.
"""

from __future__ import annotations

import json
import logging
import os
import re
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
    "huggingface_hub",
    "filelock",
    "asyncio",
)

# Libraries that read the files people share. Their records can quote what they read
# (pydicom's quote header values: names, IDs; the codecs' pieces of the file), so none is
# ever logged: bot.imaging.configure sets these loggers above CRITICAL, and LibraryFloor
# drops their records in case a level is lowered again (pydicom.config.debug does).
FILE_READERS = (
    "pydicom",
    "PIL",
    "pillow_heif",
    "pylibjpeg",
    "openjpeg",
    "_openjpeg",
    "libjpeg",
    "rle",
    "tifffile",
    "imagecodecs",
)


def safe_exception(
    exc_info: tuple[type[BaseException] | None, BaseException | None, TracebackType | None] | None,
) -> dict[str, Any]:
    """The exception's type and where it was raised, without its message."""
    if not exc_info:
        return {}
    exc_type, _, tb = exc_info
    if exc_type is None:
        return {}
    frames = [
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in traceback.extract_tb(tb)
    ]
    return {"error_type": exc_type.__name__, "frames": frames[-6:]}


RECORD_KEYS = ("ts", "level", "logger", "event")
OWN_LOGGERS = "bot"  # records of this logger tree are the bot's own events
AUDIT_LOGGER = "bot.audit"  # one event per question: who, where, when; no content


def in_tree(name: str, roots: tuple[str, ...]) -> bool:
    """Whether logger `name` is one of `roots` or below one of them."""
    return name.split(".", 1)[0] in roots


def is_own(record: logging.LogRecord) -> bool:
    """Whether the record comes from the bot's code (not a library)."""
    return in_tree(record.name, (OWN_LOGGERS,))


def _template(record: logging.LogRecord) -> str:
    """A library's message with each argument shown as its type, never its value.

    Libraries also build messages with f-strings ("Failed to connect (error: {e})"), so
    the text is cut before the first bracket or colon: what failed, not what it said.
    """
    template = str(record.msg)
    args = record.args
    if args:
        shown: Any = (
            {k: f"<{type(v).__name__}>" for k, v in args.items()}
            if isinstance(args, Mapping)
            else tuple(f"<{type(a).__name__}>" for a in args)
        )
        try:
            template = str(template % shown)
        except (TypeError, ValueError, KeyError):
            pass
    return _LIBRARY_STEM.split(template, maxsplit=1)[0].strip() or "library message"


_LIBRARY_STEM = re.compile(r"[:(\[{\n]")


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The record as a flat dict: time, level, logger, event and the caller's fields.

    A caller's field never replaces one of the record's own keys: a clashing field is
    kept as `field_<name>` (callers name theirs for what they hold, e.g. message_ts).
    """
    data: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        # Our own loggers pass a fixed event name; others' arguments can hold anything
        # (user text, file names, header values), so only their types are shown.
        "event": str(record.msg) if is_own(record) else _template(record),
    }
    extra = getattr(record, "fields", None)
    if isinstance(extra, Mapping):
        for key, value in extra.items():
            data[f"field_{key}" if key in RECORD_KEYS else key] = value
    error = safe_exception(record.exc_info)
    if not is_own(record):
        error.pop("frames", None)  # a library's own frames: noise in a reconnect loop
    data.update(error)
    repeated = getattr(record, "repeated", 0)
    if repeated:
        data["repeated"] = repeated
    return data


class LibraryFloor(logging.Filter):
    """Library records only at WARNING and above, and each kind at most once a minute.

    A retry loop (Socket Mode reconnecting every few seconds to a network that is down)
    would otherwise fill the log; the next record of a kind says how many were dropped.
    Records of the libraries that read shared files (FILE_READERS) are dropped whatever
    their level: the backstop should a logger's level be lowered after start-up.
    """

    def __init__(self, *, every_s: float = 60.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self._every_s = every_s
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._dropped: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the bot's own records and libraries' warnings and errors, rate-limited."""
        if is_own(record):
            return True
        if record.levelno < logging.WARNING or in_tree(record.name, FILE_READERS):
            return False
        kind = (record.name, _template(record))
        now = self._clock()
        if now - self._last.get(kind, -self._every_s) < self._every_s:
            self._dropped[kind] = self._dropped.get(kind, 0) + 1
            return False
        self._last[kind] = now
        record.repeated = self._dropped.pop(kind, 0)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record."""
        return json.dumps(fields_of(record), default=str, ensure_ascii=False)


# Characters that end a line or drive a terminal: escaped, so a value cannot start a
# forged record (JSON lines are safe already: json.dumps escapes them).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(value: object) -> str:
    """A value for one `key=value` line: control characters as escapes."""
    return _CONTROL.sub(lambda m: _NAMED.get(m[0]) or f"\\x{ord(m[0]):02x}", str(value))


class TextFormatter(logging.Formatter):
    """Readable `event key=value` lines for a terminal, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record."""
        data = fields_of(record)
        head = f"{data.pop('ts')} {data.pop('level'):<7} {_escaped(data.pop('event'))}"
        data.pop("logger")
        return head + "".join(f" {_escaped(k)}={_escaped(v)}" for k, v in data.items())


def setup(*, level: str = "INFO", fmt: str = "json") -> None:
    """Install the formatter on the root logger and quieten chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(LibraryFloor())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The audit trail (one event per question) is kept whatever LOG_LEVEL says.
    logging.getLogger(AUDIT_LOGGER).setLevel(logging.INFO)
    quiet_libraries()
    if fmt == "json":
        # A log collector reads stderr line by line: no progress bars drawn between the
        # records (huggingface_hub and transformers read this when they are imported).
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def quiet_libraries() -> None:
    """Keep libraries that log payloads (request bodies, messages) at WARNING and above."""
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def adopt_library_loggers() -> None:
    """Let huggingface_hub's and transformers' records reach the root handler, and only it.

    Both attach a stderr handler of their own at import. huggingface_hub's logger also
    propagates, so each of its warnings (a download's retries) was printed twice, once
    raw; transformers' does not, so its records bypassed the formatter and LibraryFloor.
    """
    import huggingface_hub.utils.logging  # noqa: F401 - attaches its handler at import
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_default_handler()
    transformers_logging.enable_propagation()
    hub = logging.getLogger("huggingface_hub")
    for handler in list(hub.handlers):
        hub.removeHandler(handler)
    hub.propagate = True


ExcInfo = bool | BaseException | None


def event(
    logger: logging.Logger,
    name: str,
    *,
    level: int = logging.INFO,
    exc_info: ExcInfo = None,
    **fields: Any,
) -> None:
    """Log an event with structured fields (ids, sizes, timings; never user content).

    `exc_info` (True inside an `except`, or the exception) adds the exception's type
    and frames, never its message.
    """
    logger.log(level, name, exc_info=exc_info, extra={"fields": fields})
