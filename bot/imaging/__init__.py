"""Bytes of shared files -> RGB images ready for MedGemma, plus metadata safe to log.

Everything here is pure and synchronous: no Slack, no model, no files on disk, no logging.
Callers call `configure` once at start-up and run `decode` in worker threads (several at
once). Failures are always `bot.errors.ImagingError` subclasses whose `detail` never
quotes the file.
"""

from __future__ import annotations

from bot.imaging.decode import decode
from bot.imaging.series import assemble
from bot.imaging.setup import configure
from bot.imaging.sniff import sniff
from bot.imaging.types import (
    DecodedFile,
    GreyValues,
    ImagingOptions,
    Intensity,
    Layout,
    ModelImage,
    PrivacyFlag,
    Specialty,
)

__all__ = [
    "DecodedFile",
    "GreyValues",
    "ImagingOptions",
    "Intensity",
    "Layout",
    "ModelImage",
    "PrivacyFlag",
    "Specialty",
    "assemble",
    "configure",
    "decode",
    "sniff",
]
