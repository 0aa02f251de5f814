"""A thread's messages to the model's conversation, within a token and image budget.

Pure: no Slack, no model. Images belong to the turn that posted them; same-role
neighbours are merged so roles alternate; the oldest images go first, then the oldest
turns, and never the newest question or its images. The thread's latest image set (a
CT/MR volume, a cine, slide patches) stays in the request, in the newest message or an
earlier one, and may use the model's whole context (thinned when even that is too
small): a follow-up about a series is answered with the series. A question about
earlier images is never answered with none of them left. What was left out comes back
as notes (message keys and values) for the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.backends.base import ChatMessage, ImagePart, Part, TextPart
from bot.errors import ImagesLeftBehind, TooMuchText
from bot.imaging.types import DecodedFile
from bot.pipeline import image_sets
from bot.pipeline.messages import DecodedMessage, Role

TURN_OVERHEAD = 5  # <start_of_turn>role\n ... <end_of_turn>\n
MIN_ANSWER_TOKENS = 256


@dataclass(frozen=True)
class Budget:
    """Limits of one request."""

    context_tokens: int  # the configured budget
    model_context: int  # the model's own limit; an image set may grow the budget up to it
    max_images: int  # per request, image sets aside
    max_new_tokens: int
    tokens_per_image: int
    max_request_images: int | None = None  # the server's cap on all images of a request


@dataclass(frozen=True)
class Texts:
    """Text the conversation inserts (from bot/prompts/)."""

    system: str
    image_sets: Mapping[str, str]  # instruction per kind of set (image_sets.instruction_key)
    default_question: str
    # Put before the newest question when the system prompt lacks the safety rules
    # (Google's profile): after the question's images, so the question stays last.
    safety: str = ""


Note = tuple[str, dict[str, object]]  # a key of [notes] in messages.toml and its values


@dataclass
class _Turn:
    """A message while the request is fitted: files may be dropped, turns removed."""

    role: Role
    files: list[DecodedFile]
    text: str
    newest: bool = False
    anchor: DecodedFile | None = None  # the thread's latest image set, kept whatever happens

    def image_count(self) -> int:
        return sum(len(f.images) for f in self.files)


@dataclass(frozen=True)
class Conversation:
    """The request to send: messages, the answer's token allowance, notes."""

    messages: tuple[ChatMessage, ...]
    max_new_tokens: int
    tokens: int
    notes: tuple[Note, ...] = field(default_factory=tuple)
    shown: tuple[DecodedFile, ...] = ()  # the files whose images the request holds

    @property
    def image_count(self) -> int:
        """Images in the request."""
        return sum(len(m.images) for m in self.messages)


def _file_parts(file: DecodedFile, texts: Texts) -> list[Part]:
    parts: list[Part] = []
    if file.is_image_set:
        parts.append(TextPart(image_sets.instruction(file, texts.image_sets)))
    for image in file.images:
        parts.append(ImagePart(image.image))
        if image.label:
            parts.append(TextPart(image.label))
    return parts


def _turns(thread: Sequence[DecodedMessage], texts: Texts) -> list[_Turn]:
    speakers = {m.author for m in thread if m.role == "user" and m.author}
    turns: list[_Turn] = []
    for i, message in enumerate(thread):
        newest = i == len(thread) - 1
        text = message.text.strip()
        if newest and not text:
            text = texts.default_question
        if message.role == "user" and text and len(speakers) > 1 and message.author:
            text = f"{message.author}: {text}"
        if newest and texts.safety:
            text = f"{texts.safety}\n\n{text}"
        if text or message.files:
            turns.append(_Turn(message.role, list(message.files), text, newest))
    return turns


def _cap_newest(turn: _Turn, limit: int) -> Note | None:
    plain = [f for f in turn.files if not f.is_image_set]
    total = sum(len(f.images) for f in plain)
    if total <= limit:
        return None
    kept: list[DecodedFile] = []
    room = limit
    for f in turn.files:
        if f.is_image_set:
            kept.append(f)
        elif room > 0:
            kept.append(replace(f, images=f.images[:room]))
            room -= min(room, len(f.images))
    turn.files = kept
    return ("images_capped", {"used": limit, "total": total})


class _Counter:
    def __init__(self, count_text: Callable[[str], int], budget: Budget, texts: Texts) -> None:
        self._count = count_text
        self._known: dict[str, int] = {}
        self.budget = budget
        self.system = count_text(texts.system) + TURN_OVERHEAD
        self.texts = texts

    def count_text(self, text: str) -> int:
        """Tokens of a text, tokenized once: the fitting loops recount every turn."""
        if text not in self._known:
            self._known[text] = self._count(text)
        return self._known[text]

    def turn(self, turn: _Turn) -> int:
        parts = [p for f in turn.files for p in _file_parts(f, self.texts)]
        text = sum(self.count_text(p.text) for p in parts if isinstance(p, TextPart))
        return (
            self.count_text(turn.text)
            + text
            + TURN_OVERHEAD
            + (turn.image_count() * self.budget.tokens_per_image)
        )

    def words(self, turn: _Turn) -> int:
        """A turn's cost without its files."""
        return self.count_text(turn.text) + TURN_OVERHEAD

    def total(self, turns: Sequence[_Turn], answer: int) -> int:
        return self.system + sum(self.turn(t) for t in turns) + answer


def _drop_oldest_file(turns: list[_Turn], *, plain_only: bool) -> int:
    """Remove the oldest earlier file (an image set too, unless `plain_only`), never the
    anchor; its image count."""
    for turn in turns:
        if turn.newest:
            continue
        for i, file in enumerate(turn.files):
            if file is not turn.anchor and not (plain_only and file.is_image_set):
                return len(turn.files.pop(i).images)
    return 0


def _plain_images(turns: Sequence[_Turn]) -> int:
    """Images outside image sets (sets have their own limits)."""
    return sum(len(f.images) for t in turns for f in t.files if not f.is_image_set)


def _anchor(turns: list[_Turn]) -> _Turn | None:
    """Mark the thread's latest image set (newest message first); its turn."""
    for turn in reversed(turns):
        sets = [f for f in turn.files if f.is_image_set]
        if sets:
            turn.anchor = sets[-1]
            return turn
    return None


def _drop_oldest_turn(turns: list[_Turn]) -> int:
    """Remove the oldest turn that is neither the newest nor the anchor's; how many went."""
    for i, turn in enumerate(turns[:-1]):
        if turn.anchor is None:
            del turns[i]
            dropped = 1
            while i < len(turns) - 1 and turns[i].role == "assistant" and i == 0:
                del turns[i]  # an answer may not open the conversation
                dropped += 1
            return dropped
    return 0


def _grow_for(anchored: _Turn | None, turns: list[_Turn], budget: Budget, c: _Counter) -> int:
    """The token limit: the configured one, or what the anchor set needs (up to the model's).

    The growth covers the set's turn, the newest and the words in between (the
    conversation about the set), not other images.
    """
    if anchored is None:
        return budget.context_tokens
    newest = turns[-1]
    needed = c.system + c.turn(anchored) + budget.max_new_tokens
    if anchored is not newest:
        start = turns.index(anchored)
        needed += c.turn(newest) + sum(c.words(t) for t in turns[start + 1 : -1])
    return max(budget.context_tokens, min(budget.model_context, needed))


def _thin_to_fit(anchored: _Turn, turns: list[_Turn], budget: Budget, c: _Counter) -> None:
    """Keep as many of the anchor set's images as the model's context holds.

    Only when even the shortest answer would not fit beside the whole set: a shorter
    answer is better than fewer slices.
    """
    file = anchored.anchor
    assert file is not None
    newest = turns[-1]
    others = c.turn(newest) if anchored is not newest else 0
    shortest = min(MIN_ANSWER_TOKENS, budget.max_new_tokens)
    needed = c.system + c.turn(anchored) + others + shortest
    if needed <= budget.model_context or not file.images:
        return
    label = file.images[-1].label or ""
    per_image = budget.tokens_per_image + (c.count_text(label) if label else 0)
    fits = (budget.model_context - (needed - per_image * len(file.images))) // per_image
    thinned = image_sets.thin(file, int(fits))
    anchored.files = [thinned if f is file else f for f in anchored.files]
    anchored.anchor = thinned


def _within_cap(anchored: _Turn | None, turns: list[_Turn], cap: int | None) -> int:
    """Keep every image of the request within the server's cap; images dropped."""
    if cap is None:
        return 0
    if anchored is not None and anchored.anchor is not None:
        room = max(1, cap - _plain_images([turns[-1]]))
        thinned = image_sets.thin(anchored.anchor, room)
        anchored.files = [thinned if f is anchored.anchor else f for f in anchored.files]
        anchored.anchor = thinned
    dropped = 0
    while sum(t.image_count() for t in turns) > cap and (
        n := _drop_oldest_file(turns, plain_only=False)
    ):
        dropped += n
    return dropped


def _fit(turns: list[_Turn], budget: Budget, counter: _Counter) -> tuple[int, list[Note]]:
    """Drop old images, then old turns, until the request fits; return the answer size."""
    newest = turns[-1]
    had_images = any(t.files for t in turns)
    anchored = _anchor(turns)
    if anchored is not None:
        _thin_to_fit(anchored, turns, budget, counter)
    limit = _grow_for(anchored, turns, budget, counter)
    dropped_images = _within_cap(anchored, turns, budget.max_request_images)
    room = max(0, budget.max_images - _plain_images([newest]))
    while _plain_images(turns[:-1]) > room and (n := _drop_oldest_file(turns, plain_only=True)):
        dropped_images += n
    while counter.total(turns, budget.max_new_tokens) > limit and (
        n := _drop_oldest_file(turns, plain_only=False)
    ):
        dropped_images += n
    dropped_turns = 0
    while counter.total(turns, budget.max_new_tokens) > limit and (n := _drop_oldest_turn(turns)):
        dropped_turns += n
    answer = min(budget.max_new_tokens, limit - counter.total(turns, 0))
    if answer < min(MIN_ANSWER_TOKENS, budget.max_new_tokens):
        raise TooMuchText("newest message does not fit the context", tokens=counter.turn(newest))
    if had_images and not any(t.files for t in turns):
        raise ImagesLeftBehind("no earlier image fits beside the conversation")
    notes: list[Note] = []
    if anchored is not None and anchored.anchor is not None:
        notes.append(image_sets.used_note(anchored.anchor))
    if dropped_images:
        notes.append(("images_left_out", {"count": dropped_images}))
    if dropped_turns:
        notes.append(("turns_left_out", {"count": dropped_turns}))
    return answer, notes


def _merge(turns: Sequence[_Turn], texts: Texts) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for turn in turns:
        parts: list[Part] = [p for f in turn.files for p in _file_parts(f, texts)]
        if turn.text:
            parts.append(TextPart(turn.text))
        if not parts:  # an image-only message whose images were left out
            continue
        if messages and messages[-1].role == turn.role:
            messages[-1] = ChatMessage(turn.role, (*messages[-1].parts, *parts))
        elif messages or turn.role == "user":  # the model's turn may not come first
            messages.append(ChatMessage(turn.role, tuple(parts)))
    return messages


def build(
    thread: Sequence[DecodedMessage],
    *,
    texts: Texts,
    budget: Budget,
    count_text: Callable[[str], int],
) -> Conversation:
    """The model request for the last message of `thread` (a user message)."""
    if not thread or thread[-1].role != "user":
        raise ValueError("the newest message of a thread must be the user's question")
    turns = _turns(thread, texts)
    notes: list[Note] = []
    if capped := _cap_newest(turns[-1], budget.max_images):
        notes.append(capped)
    counter = _Counter(count_text, budget, texts)
    answer, fit_notes = _fit(turns, budget, counter)
    notes.extend(fit_notes)
    # An empty system prompt sends no system turn: the model cards' evaluations use none.
    system = (ChatMessage("system", (TextPart(texts.system),)),) if texts.system else ()
    messages = (*system, *_merge(turns, texts))
    return Conversation(
        messages=messages,
        max_new_tokens=answer,
        tokens=counter.total(turns, 0),
        notes=tuple(notes),
        shown=tuple(f for t in turns for f in t.files),
    )
