"""Patient identifiers on a document's pages, found by their labels in its text layer; pure.

A lab report or letter names its patient under printed labels ("Name:", "DOB",
"MRN", "Patient ID", ...). The PDF's text layer is searched for those labels in every
language the bot speaks; only whether one was found leaves this module, never the
text. A scanned page (no text layer) or a photo cannot be checked this way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Labels printed before a patient's name, birth date or record number, per language.
# Latin-script labels must stand as words; a bare "Name" must be followed by a colon.
_LATIN_LABELS = (
    # en
    r"patient\s*name",
    r"name\s*:",
    r"d\.?o\.?b\.?",
    r"date\s+of\s+birth",
    r"mrn",
    r"medical\s+record\s+(?:number|no\.?)",
    r"patient\s*(?:id|no\.?|number)",
    r"nhs\s+(?:number|no\.?)",
    # es / pt-BR
    r"nombre\s*:",
    r"fecha\s+de\s+nacimiento",
    r"n[úu]mero\s+de\s+historia",
    r"historia\s+cl[íi]nica",
    r"nome\s*:",
    r"data\s+de\s+nascimento",
    r"prontu[áa]rio",
    # fr
    r"nom\s*:",
    r"date\s+de\s+naissance",
    r"n[ée]\(?e?\)?\s+le(?=\s)",
    r"ipp",
    # de
    r"geburtsdatum",
    r"geb\.",
    r"patienten-?(?:id|nummer|name)",
    r"name,\s*vorname",
)
_CJK_LABELS = (
    # zh-CN
    "姓名",
    "出生日期",
    "病历号",
    "住院号",
    "患者ID",
    # ja
    "氏名",
    "生年月日",
    "患者番号",
    "カルテ番号",
)


def _latin(label: str) -> str:
    """A label that starts a word, and ends one unless it ends in punctuation ("Name:")."""
    end = "" if label.endswith((":", ".", r"\.")) else r"(?!\w)"
    return rf"(?<!\w){label}{end}"


_LABELS = re.compile(
    "|".join([*map(_latin, _LATIN_LABELS), *map(re.escape, _CJK_LABELS)]), re.IGNORECASE
)


def has_identifiers(pages: Iterable[str]) -> bool:
    """True when any page's text carries a patient identifier label."""
    return any(_LABELS.search(text) for text in pages)
