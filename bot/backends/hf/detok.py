"""Incremental detokenizing: token ids in, printable text out, one step at a time."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


class IncrementalDetokenizer:
    """Turns a growing list of token ids into text without re-decoding all of it.

    A character may span several byte tokens: text ending in U+FFFD is held back until
    the next token completes it. Special tokens in `hidden` are never shown.
    """

    def __init__(self, tokenizer: Any, *, hidden: Collection[int]) -> None:
        self._tokenizer = tokenizer
        self._hidden = hidden
        self._ids: list[int] = []
        self._prefix = 0  # start of the window re-decoded each step
        self._read = 0  # ids up to here have been turned into emitted text

    def _decode(self, ids: list[int]) -> str:
        text: str = self._tokenizer.decode(ids, skip_special_tokens=False)
        return text

    def push(self, token: int) -> str:
        """Add one token; return the text that became printable."""
        if token in self._hidden:
            return ""
        self._ids.append(token)
        before = self._decode(self._ids[self._prefix : self._read])
        now = self._decode(self._ids[self._prefix :])
        if len(now) <= len(before) or now.endswith("\ufffd"):
            return ""
        self._prefix, self._read = self._read, len(self._ids)
        return now[len(before) :]

    def flush(self) -> str:
        """Whatever is left at the end (an incomplete character shows as U+FFFD)."""
        before = self._decode(self._ids[self._prefix : self._read])
        now = self._decode(self._ids[self._prefix :])
        self._prefix = self._read = len(self._ids)
        return now[len(before) :]
