"""The imaging libraries' process-wide settings, made once when a front starts.

pydicom's warnings and log lines can quote header values (names, IDs) and the codecs'
can quote pieces of the file: none may reach the bot's output. Filters and levels are
set here once for the whole process, not around each decode: `warnings.catch_warnings`
swaps a process-wide list and is not thread-safe, so a per-decode switch needed a lock,
which let only one decoding thread work at a time.
"""

from __future__ import annotations

import logging
import re
import warnings

from PIL import Image

from bot.logs import FILE_READERS

# Above CRITICAL: no record of these loggers is even created.
SILENT = logging.CRITICAL + 1
# The modules (and their submodules) whose warnings are ignored; pyproject.toml's pytest
# filterwarnings carries the same pattern so the tests see what production sees.
LIBRARY_MODULES = "(" + "|".join(re.escape(name) for name in FILE_READERS) + r")(\.|$)"


def configure() -> None:
    """Ignore the imaging libraries' warnings, silence their loggers, raise Pillow's bombs.

    Idempotent: a second call leaves the filters and levels as the first set them.
    """
    warnings.filterwarnings("ignore", module=LIBRARY_MODULES)
    # Raised, not shown: the decoders turn it into ImageTooLarge. Added last, so it is
    # checked before the ignore above (Pillow's warning comes from PIL.Image).
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
    for name in FILE_READERS:
        logging.getLogger(name).setLevel(SILENT)
