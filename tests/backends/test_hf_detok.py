"""The detokenizer (tokenizers' DecodeStream): streamed text equals decoding everything,
for byte-level and byte-fallback tokenizers, characters split over tokens included."""

from __future__ import annotations

from typing import Any

import pytest

from bot.backends.hf.batching.detok import IncrementalDetokenizer
from bot.backends.hf.synthetic import TINY_IDS, build_tokenizer

BYTE_LEVEL = build_tokenizer(TINY_IDS)


def byte_fallback_tokenizer() -> Any:
    """Gemma's kind: pieces with "▁" for spaces, unknown characters as <0xNN> byte tokens."""
    from tokenizers import Tokenizer, decoders, models, normalizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<eos>": 1, "<end_of_turn>": 2}
    vocab.update({f"<0x{b:02X}>": 3 + b for b in range(256)})
    pieces = ["▁", *"abcdefghijklmnopqrstuvwxyz", "▁the", "é", "肺", "ok"]
    vocab.update({piece: 300 + i for i, piece in enumerate(pieces)})
    merges = [("▁", "t"), ("▁t", "h"), ("▁th", "e"), ("o", "k")]
    vocab.update({"▁t": 400, "▁th": 401})
    core = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True))
    core.normalizer = normalizers.Replace(" ", "▁")
    core.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="<eos>")


BYTE_FALLBACK = byte_fallback_tokenizer()
TEXTS = [
    "Consolidation in the right lower lobe.",
    "Größe 3 cm, naïve façade",
    "肺炎の所見なし",
    "emoji 🫁 and 🩻 split over bytes",
    " the okay é 肺 x" * 5,
]


def ids_of(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def stream(detok: IncrementalDetokenizer, ids: list[int]) -> str:
    return "".join(detok.push(i) for i in ids) + detok.flush()


@pytest.mark.parametrize("tokenizer", [BYTE_LEVEL, BYTE_FALLBACK], ids=["byte-level", "fallback"])
@pytest.mark.parametrize("text", TEXTS)
def test_streamed_text_equals_decoding_everything(tokenizer: Any, text: str) -> None:
    ids = ids_of(tokenizer, text)
    assert tokenizer.decode(ids) == text
    assert stream(IncrementalDetokenizer(tokenizer, hidden=()), ids) == text


def test_the_fallback_tokenizer_splits_characters_over_byte_tokens() -> None:
    ids = ids_of(BYTE_FALLBACK, "🫁 é")
    assert BYTE_FALLBACK.convert_ids_to_tokens(ids)[:4] == ["<0xF0>", "<0x9F>", "<0xAB>", "<0x81>"]


@pytest.mark.parametrize("tokenizer", [BYTE_LEVEL, BYTE_FALLBACK], ids=["byte-level", "fallback"])
def test_an_incomplete_character_is_held_back_until_complete(tokenizer: Any) -> None:
    ids = ids_of(tokenizer, "🫁")
    assert len(ids) == 4  # one token per UTF-8 byte
    detok = IncrementalDetokenizer(tokenizer, hidden=())
    assert [detok.push(i) for i in ids] == ["", "", "", "🫁"]


@pytest.mark.parametrize("tokenizer", [BYTE_LEVEL, BYTE_FALLBACK], ids=["byte-level", "fallback"])
def test_broken_bytes_come_out_as_replacement_characters_as_they_go(tokenizer: Any) -> None:
    lone = ids_of(tokenizer, "é")[-1:] if tokenizer is BYTE_LEVEL else [3 + 0x80]
    assert tokenizer.decode(lone) == "\ufffd"  # a continuation byte with no lead byte
    ids = lone * 40 + ids_of(tokenizer, " ok")
    detok = IncrementalDetokenizer(tokenizer, hidden=())
    chunks = [detok.push(i) for i in ids]
    assert "".join(chunks) + detok.flush() == tokenizer.decode(ids)
    # Nothing waits for a character that never ends.
    silent = max(len(run) for run in "".join("x" if c else "." for c in chunks).split("x"))
    assert silent < 4  # a UTF-8 character has at most 4 bytes


def test_a_character_cut_off_at_the_end_is_flushed() -> None:
    ids = ids_of(BYTE_FALLBACK, "ok 🫁")[:-2]
    detok = IncrementalDetokenizer(BYTE_FALLBACK, hidden=())
    assert "".join(detok.push(i) for i in ids) == "ok "
    assert detok.flush() == BYTE_FALLBACK.decode(ids)[len("ok ") :]
    assert detok.flush() == ""


def test_hidden_tokens_are_never_shown() -> None:
    ids = [TINY_IDS.start_of_turn, *ids_of(BYTE_LEVEL, "yes")]
    detok = IncrementalDetokenizer(BYTE_LEVEL, hidden={TINY_IDS.start_of_turn})
    assert stream(detok, [*ids, TINY_IDS.end_of_turn]) == "yes<end_of_turn>"
