"""Keep third-party warnings and log lines, which can quote file contents, out of our logs."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

# pydicom's warnings and log lines can quote header values (names, IDs); the codecs' lines
# can quote pieces of the file. None of them may reach the bot's logs.
_QUIET_LOGGER_PREFIXES = ("pydicom", "pylibjpeg", "openjpeg", "libjpeg", "rle", "PIL", "tifffile")
# warnings.catch_warnings swaps a process-wide filter list and is not thread-safe before
# Python 3.14: two overlapping decodes could restore each other's filters. Decoding takes
# milliseconds next to seconds of model time, so one decode at a time costs nothing real.
_DECODE_LOCK = threading.RLock()


class _DropRecord(logging.Filter):
    """A logger filter that lets nothing through."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop every record."""
        return False


_DROP = _DropRecord()


@contextmanager
def quiet() -> Iterator[None]:
    """Run decoding with library warnings suppressed and pixel-limit warnings raised."""
    silence_library_loggers()
    with _DECODE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Raised, not shown: the decoders turn it into ImageTooLarge.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def silence_library_loggers() -> None:
    """Attach the drop-all filter to every existing logger of the imaging libraries."""
    names = set(logging.Logger.manager.loggerDict) | set(_QUIET_LOGGER_PREFIXES)
    for name in names:
        if name.split(".")[0] in _QUIET_LOGGER_PREFIXES:
            logger = logging.getLogger(name)
            if _DROP not in logger.filters:
                logger.addFilter(_DROP)
