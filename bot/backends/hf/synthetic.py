"""Random-weight Gemma 3 models with a matching processor, for tests and benchmarks.

No weights can be downloaded where the bot is built and tested, and speed does not
depend on the weights' values, so `bench` and the test-suite build models here: a tiny
one for the CPU and one of the exact medgemma-4b-it shape for GPU figures. The
tokenizer is byte-level (every UTF-8 byte is a token) with Gemma 3's special tokens at
the ids the real checkpoint uses, so prompts, image-token expansion and streaming go
through the same code as with real weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TEMPLATE = Path(__file__).with_name("gemma3_chat_template.jinja")


@dataclass(frozen=True)
class SpecialIds:
    """Where Gemma 3's special tokens sit in the vocabulary."""

    pad: int
    eos: int
    bos: int
    unk: int
    start_of_turn: int
    end_of_turn: int
    boi: int
    eoi: int
    image: int
    byte_offset: int  # the 256 byte tokens start here
    vocab_size: int


# The real checkpoint's ids (reference/medgemma.md), inside its 262,208-token vocabulary.
MEDGEMMA_IDS = SpecialIds(
    pad=0,
    eos=1,
    bos=2,
    unk=3,
    start_of_turn=105,
    end_of_turn=106,
    boi=255_999,
    eoi=256_000,
    image=262_144,
    byte_offset=1000,
    vocab_size=262_208,
)
# A compact layout for the tiny CPU model: readable text from random weights.
TINY_IDS = SpecialIds(
    pad=0,
    eos=1,
    bos=2,
    unk=3,
    start_of_turn=4,
    end_of_turn=5,
    boi=6,
    eoi=7,
    image=8,
    byte_offset=9,
    vocab_size=9 + 256,
)


def build_tokenizer(ids: SpecialIds) -> Any:
    """A byte-level fast tokenizer with Gemma 3's special tokens at `ids`."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {ch: ids.byte_offset + i for i, ch in enumerate(alphabet)}
    specials = {
        "<pad>": ids.pad,
        "<eos>": ids.eos,
        "<bos>": ids.bos,
        "<unk>": ids.unk,
        "<start_of_turn>": ids.start_of_turn,
        "<end_of_turn>": ids.end_of_turn,
        "<start_of_image>": ids.boi,
        "<end_of_image>": ids.eoi,
        "<image_soft_token>": ids.image,
    }
    vocab.update(specials)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        padding_side="left",
        chat_template=_TEMPLATE.read_text(encoding="utf-8"),
        extra_special_tokens={
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
        },
    )


def build_processor(ids: SpecialIds, *, image_size: int, tokens_per_image: int) -> Any:
    """A Gemma3Processor around the byte-level tokenizer."""
    from transformers import Gemma3Processor

    try:  # the torchvision-free processor where transformers has one (same maths)
        from transformers import Gemma3ImageProcessorPil as ImageProcessor
    except ImportError:  # pragma: no cover - older transformers
        from transformers import Gemma3ImageProcessor as ImageProcessor  # type: ignore[assignment]

    image_processor = ImageProcessor(
        size={"height": image_size, "width": image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        do_pan_and_scan=False,
    )
    return Gemma3Processor(
        image_processor=image_processor,
        tokenizer=build_tokenizer(ids),
        chat_template=_TEMPLATE.read_text(encoding="utf-8"),
        image_seq_length=tokens_per_image,
    )


def _gemma3_config(
    ids: SpecialIds, *, text: dict[str, Any], vision: dict[str, Any], tokens_per_image: int
) -> Any:
    """A Gemma3Config whose special tokens sit where `ids` puts them."""
    from transformers import Gemma3Config

    special: dict[str, Any] = {
        "pad_token_id": ids.pad,
        "eos_token_id": [ids.eos, ids.end_of_turn],
        "bos_token_id": ids.bos,
    }
    return Gemma3Config(
        text_config={"vocab_size": ids.vocab_size, **text, **special},
        vision_config={"patch_size": 14, "vision_use_head": False, **vision},
        mm_tokens_per_image=tokens_per_image,
        boi_token_index=ids.boi,
        eoi_token_index=ids.eoi,
        image_token_index=ids.image,
        **special,
    )


def tiny_config(*, sliding_window: int = 24, layers: int = 4) -> Any:
    """A few tiny layers; the small sliding window makes tests cross it."""
    text: dict[str, Any] = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": layers,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "query_pre_attn_scalar": 16,
        "sliding_window": sliding_window,
        "sliding_window_pattern": 2,
        "max_position_embeddings": 4096,
    }
    vision: dict[str, Any] = {
        "image_size": 28,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
    }
    return _gemma3_config(TINY_IDS, text=text, vision=vision, tokens_per_image=4)


def medgemma_4b_config() -> Any:
    """The exact architecture of google/medgemma-4b-it (reference/medgemma.md)."""
    text: dict[str, Any] = {
        "hidden_size": 2560,
        "intermediate_size": 10240,
        "num_hidden_layers": 34,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "query_pre_attn_scalar": 256,
        "sliding_window": 1024,
        "sliding_window_pattern": 6,
        "max_position_embeddings": 131_072,
        "rms_norm_eps": 1e-6,
        "rope_parameters": {
            "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1_000_000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
        },
    }
    vision: dict[str, Any] = {
        "image_size": 896,
        "hidden_size": 1152,
        "intermediate_size": 4304,
        "num_hidden_layers": 27,
        "num_attention_heads": 16,
    }
    return _gemma3_config(MEDGEMMA_IDS, text=text, vision=vision, tokens_per_image=256)


def save_tiny_model(path: Path, *, seed: int = 0, sliding_window: int = 24) -> Path:
    """Build the tiny random model and its processor and save both into `path`."""
    import torch
    from transformers import Gemma3ForConditionalGeneration

    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(tiny_config(sliding_window=sliding_window))
    model.generation_config.do_sample = False
    model.save_pretrained(path)
    build_processor(TINY_IDS, image_size=28, tokens_per_image=4).save_pretrained(path)
    return path
