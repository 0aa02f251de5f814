"""Incremental detokenizing: token ids in, printable text out, one step at a time."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

# Tokens kept in the window before it is cut back to one token of context. Small: the
# window is decoded once per token, so its length is the cost of each step.
WINDOW = 8
# A UTF-8 character has at most 4 bytes, so a text still ending in U+FFFD after this many
# tokens holds a real replacement character, not a character waiting for its next byte.
_MAX_HELD = 4


class IncrementalDetokenizer:
    """Turns a growing list of token ids into text, decoding a short window per token.

    The window starts one token before the text not yet returned (some tokenizers decode
    a leading space differently at the start of a text) and is cut back whenever it
    reaches `WINDOW` tokens, so each push decodes at most `WINDOW + 4` tokens, once,
    however many tokens decode to nothing. Text ending in U+FFFD is held back until the
    next token completes the character. Special tokens in `hidden` are never shown.
    """

    def __init__(self, tokenizer: Any, *, hidden: Collection[int]) -> None:
        self._tokenizer = tokenizer
        self._hidden = hidden
        self._window: list[int] = []
        self._shown = 0  # characters of the window's text already returned
        self._held = 0  # tokens pushed since text last came out

    def _decode(self, ids: list[int]) -> str:
        text: str = self._tokenizer.decode(ids, skip_special_tokens=False)
        return text

    def push(self, token: int) -> str:
        """Add one token; return the text that became printable."""
        if token in self._hidden:
            return ""
        self._window.append(token)
        self._held += 1
        text = self._decode(self._window)
        if text.endswith("\ufffd") and self._held < _MAX_HELD:
            return ""
        return self._take(text)

    def _take(self, text: str) -> str:
        """Return the new part of the window's text and cut the window back if long."""
        new = text[self._shown :]
        self._shown = len(text)
        self._held = 0
        if len(self._window) >= WINDOW:
            self._window = self._window[-1:]
            self._shown = len(self._decode(self._window))
        return new

    def flush(self) -> str:
        """Whatever is left at the end (an incomplete character shows as U+FFFD)."""
        if not self._held:
            return ""
        return self._take(self._decode(self._window))
