"""The backend contract: capability flags and one async stream of text."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from PIL import Image

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, eq=False)
class ImagePart:
    """An image inside a message."""

    image: Image.Image


@dataclass(frozen=True)
class TextPart:
    """Text inside a message."""

    text: str


Part = ImagePart | TextPart


def joined_texts(parts: tuple[Part, ...]) -> list[Part]:
    """The parts with neighbouring texts joined by a blank line.

    Gemma 3's chat template trims every text part and concatenates the parts with
    nothing between, and vLLM renders an OpenAI request's parts through that template
    one by one: both backends join neighbours here first, so both send the same prompt.
    """
    joined: list[Part] = []
    for part in parts:
        if isinstance(part, TextPart) and joined and isinstance(joined[-1], TextPart):
            joined[-1] = TextPart(joined[-1].text + "\n\n" + part.text)
        else:
            joined.append(part)
    return joined


@dataclass(frozen=True)
class ChatMessage:
    """One turn sent to the model; parts keep their order (images and text interleave)."""

    role: Role
    parts: tuple[Part, ...]

    @property
    def images(self) -> list[Image.Image]:
        """The images of this turn, in order."""
        return [p.image for p in self.parts if isinstance(p, ImagePart)]

    @property
    def text(self) -> str:
        """The text parts of this turn, joined."""
        return "\n\n".join(p.text for p in self.parts if isinstance(p, TextPart))


@dataclass(frozen=True)
class Capabilities:
    """What a backend can take."""

    context_tokens: int = 131_072  # the model's maximum context
    tokens_per_image: int = 256  # as the model counts an image (MedGemma: 256 + wrappers)
    max_images: int | None = None  # per request, None when only the context limits it


QueueCallback = Callable[[int], None]
# Why generation stopped: "stop" (the model ended its answer) or "length" (it reached
# max_new_tokens, or its context, with the answer unfinished).
FinishReason = Literal["stop", "length"]
FinishCallback = Callable[[FinishReason], None]


@dataclass(frozen=True)
class GenerationRequest:
    """One question for the model."""

    messages: tuple[ChatMessage, ...]
    max_new_tokens: int
    request_id: str = ""
    # Called with the place in line while the request waits (1: next), 0 once it runs.
    on_queue_position: QueueCallback | None = field(default=None, compare=False)
    # Called when an answer ends normally (not on errors or cancellation), with why it ended.
    on_finish: FinishCallback | None = field(default=None, compare=False)


class Backend(Protocol):
    """A model that streams text for a conversation."""

    name: str
    capabilities: Capabilities

    async def start(self) -> None:
        """Load or connect; raise BackendUnavailable with a clear detail when it cannot."""

    def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        """Yield the answer's text in chunks; raise BackendError subclasses on failure."""

    def count_text_tokens(self, text: str) -> int:
        """Tokens the text costs in the model's context (an upper estimate is fine)."""

    async def aclose(self) -> None:
        """Release the model or the connection."""


def estimate_text_tokens(text: str) -> int:
    """A cautious count for backends without the model's tokenizer at hand.

    Gemma's tokenizer (SentencePiece with byte fallback) gives every digit a token of
    its own, and at most one to each punctuation mark, symbol, whitespace character
    and common CJK character: those count one each (two for a character beyond the
    Basic Multilingual Plane, an emoji), which holds for lab values, tables and
    Japanese or Chinese text. A run of letters counts one token per three UTF-8 bytes
    (Gemma averages about four characters a token in English, fewer in other
    scripts), with the single space before it free, since the word's piece holds it.
    """
    tokens = 0
    for piece in _PIECES.finditer(text):
        if (letters := piece.group("letters")) is not None:
            tokens += math.ceil(len(letters.lstrip(" ").encode("utf-8")) / 3)
        else:
            tokens += 1 if ord(piece.group()) < 0x10000 else 2
    return tokens


# Han, kana, Hangul, CJK symbols and full-width forms: one token each at most.
_CJK = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_PIECES = re.compile(rf"(?P<letters> ?(?:(?![{_CJK}])[^\W\d_])+)|.", re.DOTALL)
