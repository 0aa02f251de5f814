"""The incremental detokenizer: exact text, one short decode per token, bounded window."""

from __future__ import annotations

from typing import Any

import pytest

from bot.backends.hf.batching.detok import WINDOW, IncrementalDetokenizer
from bot.backends.hf.synthetic import TINY_IDS, build_tokenizer

TOKENIZER = build_tokenizer(TINY_IDS)
SILENT = TINY_IDS.unk  # a token that the wrapper below decodes to nothing


class Recording:
    """The byte-level tokenizer, with `SILENT` decoding to "" and every decode recorded."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def decode(self, ids: list[int], **kwargs: Any) -> str:
        self.lengths.append(len(ids))
        text: str = TOKENIZER.decode([i for i in ids if i != SILENT], **kwargs)
        return text


def stream(detok: IncrementalDetokenizer, ids: list[int]) -> str:
    return "".join(detok.push(i) for i in ids) + detok.flush()


@pytest.mark.parametrize(
    "text",
    [
        "Consolidation in the right lower lobe.",
        "Größe 3 cm, naïve façade",
        "肺炎の所見なし",
        "emoji 🫁 and 🩻 split over bytes",
        "x" * 100,
    ],
)
def test_streamed_text_equals_decoding_everything(text: str) -> None:
    ids = TOKENIZER(text, add_special_tokens=False)["input_ids"]
    assert stream(IncrementalDetokenizer(TOKENIZER, hidden={TINY_IDS.eos}), ids) == text


def test_an_incomplete_character_is_held_back_until_complete() -> None:
    ids = TOKENIZER("🫁", add_special_tokens=False)["input_ids"]
    assert len(ids) == 4  # one token per UTF-8 byte
    detok = IncrementalDetokenizer(TOKENIZER, hidden=())
    assert [detok.push(i) for i in ids] == ["", "", "", "🫁"]


def test_invalid_bytes_come_out_as_replacement_characters() -> None:
    # Byte 0x80 (a lone continuation byte) is "\u0122" in GPT-2's byte-level alphabet.
    continuation = TOKENIZER.convert_tokens_to_ids("\u0122")
    assert TOKENIZER.decode([continuation]) == "\ufffd"
    ids = [continuation] * 40 + TOKENIZER("ok", add_special_tokens=False)["input_ids"]
    recording = Recording()
    text = stream(IncrementalDetokenizer(recording, hidden=()), ids)
    assert text == TOKENIZER.decode(ids) and text.endswith("ok")
    assert max(recording.lengths) <= WINDOW + 4  # no wait for a character that never ends


def test_tokens_that_decode_to_nothing_keep_the_window_bounded() -> None:
    recording = Recording()
    detok = IncrementalDetokenizer(recording, hidden=())
    words = TOKENIZER("lung fields clear", add_special_tokens=False)["input_ids"]
    ids = [SILENT] * 500 + words[:5] + [SILENT] * 500 + words[5:] + [SILENT] * 50
    assert stream(detok, ids) == "lung fields clear"
    assert max(recording.lengths) <= WINDOW + 4
    # One decode per token, plus a one-token decode each time the window is cut back.
    assert len(recording.lengths) <= len(ids) * (1 + 1 / (WINDOW - 1)) + 2


def test_hidden_tokens_are_never_shown() -> None:
    ids = [TINY_IDS.start_of_turn, *TOKENIZER("yes", add_special_tokens=False)["input_ids"]]
    detok = IncrementalDetokenizer(TOKENIZER, hidden={TINY_IDS.start_of_turn})
    assert stream(detok, [*ids, TINY_IDS.end_of_turn]) == "yes<end_of_turn>"
