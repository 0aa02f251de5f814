"""Incremental detokenizing with `tokenizers`' own `DecodeStream`: ids in, text out.

`DecodeStream` keeps the context a token needs (a leading space, the bytes of a
character split over byte-fallback tokens) and returns nothing while a character is
incomplete. Two things are added here: it waits for ever on bytes that never make a
character (the model can emit those), so after `MAX_HELD` silent tokens the held text
is released as it decodes (U+FFFD for the broken bytes) and the stream restarts from
the last token (from nothing when that token is a broken byte); and at the end of an
answer whatever it still holds comes out (`flush`). Special tokens in `hidden` are
never shown. It replaces a hand-written window over `tokenizer.decode` (one Python
decode of up to 12 tokens per step and row); the streamed text is the same.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

# A UTF-8 character has at most 4 bytes, so a stream still silent after this many tokens
# holds a broken sequence, not a character waiting for its next byte.
MAX_HELD = 4


class IncrementalDetokenizer:
    """Turns one answer's token ids into text as they come (one per decoding step)."""

    def __init__(self, tokenizer: Any, *, hidden: Collection[int]) -> None:
        # The Rust tokenizer behind transformers' fast tokenizer: DecodeStream's decoder.
        self._tokenizer = tokenizer.backend_tokenizer
        self._hidden = hidden
        self._stream = _new_stream([])
        self._held: list[int] = []  # tokens pushed since text last came out
        self._context: list[int] = []  # the token before them (decoding context)

    def push(self, token: int) -> str:
        """Add one token; return the text that became printable."""
        if token in self._hidden:
            return ""
        self._held.append(token)
        text: str | None = self._stream.step(self._tokenizer, token)
        if text is not None:
            self._context, self._held = [token], []
            return text
        if len(self._held) >= MAX_HELD:
            return self._release()
        return ""

    def flush(self) -> str:
        """Whatever is left at the end (an incomplete character shows as U+FFFD)."""
        return self._release() if self._held else ""

    def _release(self) -> str:
        """The held tokens' text, decoded after their context; the stream starts anew."""
        before = self._decode(self._context)
        text = self._decode([*self._context, *self._held])
        last = self._held[-1:]
        # A broken byte is no context: DecodeStream would show it again.
        self._context = [] if self._decode(last).endswith("\ufffd") else last
        self._held = []
        self._stream = _new_stream(self._context)
        return text[len(before) :] if text.startswith(before) else text

    def _decode(self, ids: list[int]) -> str:
        text: str = self._tokenizer.decode(ids, skip_special_tokens=False)
        return text


def _new_stream(context: list[int]) -> Any:
    from tokenizers.decoders import DecodeStream

    return DecodeStream(ids=context or None, skip_special_tokens=False)
