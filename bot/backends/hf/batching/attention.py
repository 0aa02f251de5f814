"""A decode-time attention that reads the slot cache in place.

With a mask, transformers' SDPA path repeats keys and values for grouped-query
attention (`repeat_kv`): at 32 rows of 1024 slots that is about 23 GB of extra memory
traffic per step, three times the weights. For a one-token query the repeat is
unnecessary: the query's heads are viewed as (KV head, group), each KV head's cache is
multiplied once by all the query heads that share it, and the softmax runs in fp32 with
the mask applied as transformers' eager path does it.

Prefill keeps transformers' own implementation (it knows the bidirectional attention
over image tokens): the attention function registered here sends every call that is
not flagged as a slot-cache decoding step to the implementation the model was loaded
with, and its mask function is that implementation's, so prefill masks are unchanged.
"""

from __future__ import annotations

from typing import Any

import torch

# The keyword the engine passes to the model's forward on decoding steps; transformers
# forwards unknown keywords down to the attention function.
DECODE_FLAG = "slot_decode"
_PREFIX = "medgemma_slots_"


def decode_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None,
    *,
    scaling: float,
    softcap: float | None = None,
) -> torch.Tensor:
    """Attention of one query token over the whole cache row, without copying it.

    `query` is [batch, heads, 1, dim], `key`/`value` [batch, kv_heads, slots, dim] (the
    cache buffers themselves), `mask` broadcasts to [batch, 1, 1, slots] (True: visible,
    or an additive float mask). Returns [batch, 1, heads, dim], as transformers'
    attention functions do.
    """
    batch, heads, _, dim = query.shape
    kv_heads = key.shape[1]
    # Query head h reads KV head h // groups, as repeat_kv lays them out.
    grouped = query.reshape(batch, kv_heads, heads // kv_heads, dim)
    scores = torch.matmul(grouped, key.transpose(-1, -2)).float() * scaling
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + mask
    probs = torch.softmax(scores, dim=-1).to(value.dtype)
    out = torch.matmul(probs, value)  # [batch, kv_heads, groups, dim]
    return out.reshape(batch, 1, heads, dim)


def _fallback(original: str) -> Any:
    """The attention function the model was loaded with."""
    if original == "eager":  # not in the registry: each model module has its own
        from transformers.models.gemma3 import modeling_gemma3

        return modeling_gemma3.eager_attention_forward
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    return ALL_ATTENTION_FUNCTIONS[original]


def _register(original: str) -> str:
    """Register the slot attention in front of `original`; return its name.

    Through transformers' public registries (`AttentionInterface.register`,
    `AttentionMaskInterface.register`), as its attention-interface guide does it.
    """
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    name = _PREFIX + original
    if name in ALL_ATTENTION_FUNCTIONS:
        return name
    fallback = _fallback(original)

    def slot_attention(
        module: Any,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, None]:
        if kwargs.pop(DECODE_FLAG, False) and query.shape[2] == 1:
            scaling = kwargs.get("scaling") or module.head_dim**-0.5
            out = decode_attention(
                query, key, value, attention_mask, scaling=scaling, softcap=kwargs.get("softcap")
            )
            return out, None
        result: tuple[torch.Tensor, None] = fallback(
            module, query, key, value, attention_mask, **kwargs
        )
        return result

    AttentionInterface.register(name, slot_attention)
    AttentionMaskInterface.register(name, ALL_MASK_ATTENTION_FUNCTIONS[original])
    return name


def install(model: Any, *, loaded_with: str) -> None:
    """Route the text model's decoding steps through `decode_attention` (idempotent).

    `loaded_with` is the attention the model was loaded with (the loader's setting:
    transformers has no public getter for it); it keeps serving prefill. Only the
    language model changes (`set_attn_implementation` keyed by sub-config): the vision
    tower keeps its own attention.
    """
    name = loaded_with if loaded_with.startswith(_PREFIX) else _register(loaded_with)
    model.set_attn_implementation({"text_config": name})
