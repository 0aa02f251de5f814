"""bot.imaging.configure: the imaging libraries' warnings and loggers, set once per process."""

from __future__ import annotations

import logging
import tomllib
import warnings
from pathlib import Path

import pytest
from PIL import Image

from bot.imaging import configure
from bot.imaging.setup import LIBRARY_MODULES, SILENT
from bot.logs import FILE_READERS

ROOT = Path(__file__).resolve().parents[2]

# (module a warning is raised from, its category, what happens to it after configure())
WARNINGS: list[tuple[str, type[Warning], str]] = [
    ("pydicom.charset", UserWarning, "ignored"),
    ("pydicom", DeprecationWarning, "ignored"),
    ("PIL.TiffImagePlugin", UserWarning, "ignored"),
    ("pillow_heif.heif", UserWarning, "ignored"),
    ("_openjpeg", RuntimeWarning, "ignored"),
    ("tifffile.tifffile", UserWarning, "ignored"),
    ("imagecodecs", UserWarning, "ignored"),
    ("PIL.Image", Image.DecompressionBombWarning, "raised"),  # the decoders' ImageTooLarge
    ("bot.imaging.raster", UserWarning, "shown"),  # our own code is not silenced
    ("numpy", RuntimeWarning, "shown"),
    ("pydicomish", UserWarning, "shown"),  # a name that only starts like a library's
]


def outcome(module: str, category: type[Warning]) -> str:
    """What a warning from `module` becomes under production's filters only."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.resetwarnings()  # pytest's own filters out: what the bot's process has
        warnings.simplefilter("always")
        configure()
        try:
            warnings.warn_explicit("quotes the file", category, "x.py", 1, module=module)
        except category:
            return "raised"
    return "shown" if shown else "ignored"


@pytest.mark.parametrize(("module", "category", "expected"), WARNINGS)
def test_only_the_imaging_libraries_warnings_are_ignored(
    module: str, category: type[Warning], expected: str
) -> None:
    assert outcome(module, category) == expected


def test_the_libraries_loggers_create_no_records() -> None:
    configure()
    for name in (*FILE_READERS, "pydicom.pixels.decoders.base", "PIL.PngImagePlugin"):
        logger = logging.getLogger(name)
        assert logger.getEffectiveLevel() == SILENT > logging.CRITICAL, name
        assert not logger.isEnabledFor(logging.CRITICAL), name


def test_configure_twice_changes_nothing() -> None:
    with warnings.catch_warnings():
        configure()
        once = list(warnings.filters)
        configure()
        assert warnings.filters == once


def test_the_tests_filter_warnings_as_production_does() -> None:
    """pytest sets its own filters for each test: pyproject.toml repeats configure()'s."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    filters = pyproject["tool"]["pytest"]["ini_options"]["filterwarnings"]
    ignore = f"ignore:::{LIBRARY_MODULES}"
    bomb = "error::PIL.Image.DecompressionBombWarning"
    assert filters[0] == "error"
    assert ignore in filters and bomb in filters
    assert filters.index(ignore) < filters.index(bomb)  # later entries win in pytest
