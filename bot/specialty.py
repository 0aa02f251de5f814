"""The specialists the bot can speak as; each has a system prompt in `bot/prompts/`."""

from __future__ import annotations

from enum import StrEnum


class Specialty(StrEnum):
    """Which specialist system prompt fits an image best."""

    RADIOLOGIST = "radiologist"
    DERMATOLOGIST = "dermatologist"
    PATHOLOGIST = "pathologist"
    OPHTHALMOLOGIST = "ophthalmologist"


SPECIALTIES = tuple(s.value for s in Specialty)
