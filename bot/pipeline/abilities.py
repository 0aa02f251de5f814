"""What a question asks for beyond findings: boxes, a comparison with the prior, the rest
of a cut answer, a document's values; and which models can do it. Pure.

The words come from bot/prompts/abilities.toml, per language; a question is matched
against every language's words, since people write in their own whatever Slack's
locale says.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.prompts import model_family
from bot.prompts.abilities import TriggerWords

# Words in these scripts are matched anywhere: they are not written with spaces between.
_LATIN_END = "\u0250"  # Latin letters, accented ones included, come before this
_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")
ABLE_MODEL = "google/medgemma-1.5-4b-it"  # the release trained on boxes and priors


class Ability(StrEnum):
    """What a question asks the model for, besides an answer in words."""

    LOCATE = "locate"  # where something is on a chest X-ray: boxes drawn on it
    COMPARE = "compare"  # what changed since the prior chest X-ray
    CONTINUE = "continue"  # the rest of an answer cut at the length limit
    EXTRACT = "extract"  # a lab report's values (a PDF or a photo of one), as a table


def can_localise(model: str) -> bool:
    """MedGemma 1.5 was trained on anatomy boxes and on prior/current pairs; 1 was not."""
    return model_family(model) == "medgemma-1.5"


def _pattern(word: str) -> str:
    """A word as a pattern: Latin words start and end a word, `*` takes any ending."""
    prefix = word.endswith("*")
    word = word.rstrip("*")
    body = r"\s+".join(re.escape(part) for part in word.split())
    start = r"(?<!\w)" if word[0] < _LATIN_END else ""
    end = r"(?!\w)" if word[-1] < _LATIN_END and not prefix else ""
    return start + body + end


def _any(words: Iterable[str]) -> re.Pattern[str] | None:
    patterns = [_pattern(w) for w in words if w.rstrip("*")]
    return re.compile("|".join(patterns), re.IGNORECASE) if patterns else None


def _plain(text: str) -> str:
    """A message as a whole-message word: case, width, spacing and end punctuation aside."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_EDGES.sub("", folded).split())


@dataclass(frozen=True)
class Detector:
    """Tells which ability a question asks for, from every language's words."""

    locate: re.Pattern[str] | None
    compare: re.Pattern[str] | None
    continue_: frozenset[str]
    extract: re.Pattern[str] | None = None

    @classmethod
    def of(cls, triggers: Mapping[str, TriggerWords]) -> Detector:
        """One detector for all the languages' words."""
        words = list(triggers.values())
        return cls(
            locate=_any(w for t in words for w in t.locate),
            compare=_any(w for t in words for w in t.compare),
            continue_=frozenset(_plain(w) for t in words for w in t.continue_),
            extract=_any(w for t in words for w in t.extract),
        )

    def asks(self, question: str) -> Ability | None:
        """The ability `question` asks for; None for a plain question.

        A whole-message "continue" comes first; then "where", which may also say
        "previous" ("where was it on the previous film?"); then values ("the values
        since the last report" asks for a table), before a comparison.
        """
        text = unicodedata.normalize("NFKC", question)
        if _plain(text) in self.continue_:
            return Ability.CONTINUE
        if self.locate is not None and self.locate.search(text):
            return Ability.LOCATE
        if self.extract is not None and self.extract.search(text):
            return Ability.EXTRACT
        if self.compare is not None and self.compare.search(text):
            return Ability.COMPARE
        return None
