"""Remove MedGemma's thinking trace (`<unused94>` ... `<unused95>`) from streamed text.

MedGemma (mostly 1.5 and 27B) may think aloud before answering, even unasked: the
thought opens with `<unused94>` and closes with `<unused95>`; users must see neither.

Rules, applied anywhere in the stream:
- a thought, from `<unused94>` through `<unused95>`, is dropped with its markers;
- a thought still open when the stream ends is dropped too (`ended_in_thought` is then
  True: the model spent its token budget thinking and never answered);
- a stray `<unused95>` without an opening marker is dropped (text before it has already
  been shown, so it is kept);
- the visible answer never starts with whitespace: whitespace at the very start and
  right after a thought is dropped.

Text without markers passes through at once, except a tail that could be the start of
a marker (at most 9 characters), held until the next chunk or `flush()`.
"""

from __future__ import annotations

THOUGHT_START = "<unused94>"
THOUGHT_END = "<unused95>"


def _marker_prefix_len(text: str, markers: tuple[str, ...]) -> int:
    """Length of the longest tail of `text` that is a proper prefix of one of `markers`."""
    longest = max(len(m) for m in markers) - 1
    for size in range(min(longest, len(text)), 0, -1):
        tail = text[-size:]
        if any(m.startswith(tail) for m in markers):
            return size
    return 0


class ThinkingFilter:
    """A streaming filter for one answer: `feed()` each chunk, then `flush()` once."""

    def __init__(self) -> None:
        self._pending = ""  # text not yet judged: a possible marker prefix
        self._in_thought = False
        self._at_answer_start = True  # drop whitespace until visible text appears
        self._ended_in_thought = False
        self._has_answer = False

    @property
    def in_thought(self) -> bool:
        """True while the stream is inside an unclosed thought."""
        return self._in_thought

    @property
    def ended_in_thought(self) -> bool:
        """True after `flush()` when the stream ended inside a thought."""
        return self._ended_in_thought

    @property
    def has_answer(self) -> bool:
        """True once any visible (non-whitespace) text has been returned."""
        return self._has_answer

    def feed(self, chunk: str) -> str:
        """Take the next chunk; return the text that can be shown now (may be empty)."""
        text = self._pending + chunk
        self._pending = ""
        shown: list[str] = []
        while text:
            if self._in_thought:
                text = self._skip_thought(text)
            else:
                visible, marker, text = self._split_visible(text)
                shown.append(self._show(visible))
                if marker:
                    # After a marker a new answer starts (or a thought, whose end does).
                    self._in_thought = marker == THOUGHT_START
                    self._at_answer_start = True
        return "".join(shown)

    def flush(self) -> str:
        """End the stream; return any text still held back."""
        rest, self._pending = self._pending, ""
        if self._in_thought:
            self._ended_in_thought = True
            return ""
        return self._show(rest)

    def _skip_thought(self, text: str) -> str:
        """Drop thought text; return what follows the closing marker, if it has come."""
        end = text.find(THOUGHT_END)
        if end < 0:
            # Keep only a possible start of the closing marker: the thought may be long.
            held = _marker_prefix_len(text, (THOUGHT_END,))
            self._pending = text[len(text) - held :]
            return ""
        self._in_thought = False
        self._at_answer_start = True
        return text[end + len(THOUGHT_END) :]

    def _split_visible(self, text: str) -> tuple[str, str, str]:
        """Split at the next marker; return (text before it, the marker or "", the rest)."""
        found = [(i, m) for m in (THOUGHT_START, THOUGHT_END) if (i := text.find(m)) >= 0]
        if found:
            index, marker = min(found)
            return text[:index], marker, text[index + len(marker) :]
        held = _marker_prefix_len(text, (THOUGHT_START, THOUGHT_END))
        self._pending = text[len(text) - held :]
        return text[: len(text) - held], "", ""

    def _show(self, text: str) -> str:
        """Return `text` as shown, without leading whitespace at the answer's start."""
        if self._at_answer_start:
            text = text.lstrip()
            if not text:
                return ""
            self._at_answer_start = False
        self._has_answer = self._has_answer or bool(text)
        return text
