"""Chat messages to the tensors MedGemma takes, through the checkpoint's own processor."""

from __future__ import annotations

import asyncio
import copy
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch

from bot.backends.base import ChatMessage, ImagePart


@dataclass(frozen=True, eq=False)
class PreparedPrompt:
    """One request's prompt: token ids, image-token marks and pixel values (CPU tensors)."""

    input_ids: torch.Tensor  # [n] long
    token_type_ids: torch.Tensor  # [n] long, 1 on image tokens
    pixel_values: torch.Tensor | None  # [images, 3, H, W]

    @property
    def length(self) -> int:
        """Number of prompt tokens, image tokens included."""
        return int(self.input_ids.shape[0])


def to_hf_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The Gemma 3 chat template's message format.

    The template trims and concatenates parts with nothing between them, so neighbouring
    text parts are joined here with a blank line; the system text must be one part.
    """
    converted: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            converted.append(
                {"role": "system", "content": [{"type": "text", "text": message.text}]}
            )
            continue
        content: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, ImagePart):
                content.append({"type": "image", "image": part.image})
            elif content and content[-1]["type"] == "text":
                content[-1]["text"] += "\n\n" + part.text
            else:
                content.append({"type": "text", "text": part.text})
        converted.append({"role": message.role, "content": content})
    return converted


def prepare(processor: Any, messages: Sequence[ChatMessage]) -> PreparedPrompt:
    """Render the chat template, expand image tokens and preprocess images (CPU work)."""
    batch = processor.apply_chat_template(
        to_hf_messages(messages),
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
    )
    input_ids = batch["input_ids"][0]
    token_type_ids = batch.get("token_type_ids")
    types = token_type_ids[0] if token_type_ids is not None else torch.zeros_like(input_ids)
    return PreparedPrompt(
        input_ids=input_ids, token_type_ids=types, pixel_values=batch.get("pixel_values")
    )


class PreparationPool:
    """Worker threads that prepare prompts, each with its own copy of the processor.

    The Rust tokenizer inside the processor refuses concurrent use ("Already borrowed"),
    so every worker gets a processor of its own, copied up front: copying at the first
    request would slow exactly the burst the extra workers are for.
    """

    def __init__(self, processor: Any, *, workers: int) -> None:
        copies: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for _ in range(workers):
            copies.put(copy.deepcopy(processor))
        self._local = threading.local()

        def adopt() -> None:  # runs once in each worker thread as it starts
            self._local.processor = copies.get_nowait()

        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="medgemma-prep", initializer=adopt
        )

    async def prepare(self, messages: Sequence[ChatMessage]) -> PreparedPrompt:
        """`prepare` in a worker thread, with that thread's processor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._prepare, messages)

    def _prepare(self, messages: Sequence[ChatMessage]) -> PreparedPrompt:
        return prepare(self._local.processor, messages)

    def shutdown(self) -> None:
        """Stop the workers; queued preparations are dropped."""
        self._pool.shutdown(wait=False, cancel_futures=True)
