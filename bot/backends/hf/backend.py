"""MedGemma in the bot's own process: the `transformers` backend."""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

from bot.backends.base import (
    Capabilities,
    ChatMessage,
    GenerationRequest,
    estimate_text_tokens,
)
from bot.backends.hf import memory
from bot.backends.hf.batches import BatchScheduler
from bot.backends.hf.batching.engine import Engine
from bot.backends.hf.batching.jobs import Ticket
from bot.backends.hf.batching.scheduler import Scheduler
from bot.backends.hf.batching.thread import GenerationThread
from bot.backends.hf.daemon import in_daemon_thread
from bot.backends.hf.loader import LoadOptions, choose_device, load
from bot.backends.hf.prompt import PreparationPool, PreparedPrompt, prepare
from bot.backends.thinking import ThinkingFilter
from bot.errors import BackendUnavailable
from bot.logs import event
from bot.settings import CompileMode, EngineKind

log = logging.getLogger(__name__)

# Text that wraps each image's soft tokens ("\n\n<start_of_image>" ... "<end_of_image>\n\n").
_IMAGE_WRAPPER_TOKENS = 6
_THOUGHT_MARKERS = ("<unused94>", "<unused95>")


@dataclass(frozen=True)
class EngineOptions:
    """How generation is batched and compiled (from settings; see the README's table)."""

    max_batch: int  # requests decoded together in one step
    slot_tokens: int  # prompt + answer per batched request; longer ones use a long lane
    prefill_tokens: int  # prompt tokens prefilled together (a longer prompt runs alone)
    prepare_workers: int  # threads that template, tokenize and preprocess images
    max_waiting: int  # requests that may wait for a row before "busy"
    compile: CompileMode  # auto: on with a CUDA GPU
    ignore_eos: bool = False  # benchmarks only: always generate max_new_tokens
    # scheduler: this bot's continuous batching; generate: transformers' generate() with a
    # static cache, one batch at a time (the library path the scheduler must beat)
    engine: EngineKind = "scheduler"


class TransformersBackend:
    """Runs a MedGemma checkpoint in a generation thread, batched by the chosen engine."""

    name = "transformers"

    def __init__(
        self,
        *,
        load_options: LoadOptions,
        engine_options: EngineOptions,
        progress: Callable[[str], None] | None = None,
        loader: Callable[[LoadOptions], tuple[Any, Any]] | None = None,
    ) -> None:
        self._load_options = load_options
        self._options = engine_options
        self._progress = progress or (lambda message: event(log, "startup", step=message))
        # The loader's word on where the weights come from joins the start-up steps.
        self._loader = loader or functools.partial(load, say=self._progress)
        self._processor: Any = None
        self._counter: Any = None
        self._scheduler: GenerationThread | None = None
        self._prep: PreparationPool | None = None
        self.capabilities = Capabilities()
        self.engine: Engine | None = None
        self.memory: memory.MemoryEstimate | None = None
        self.startup_seconds = 0.0

    async def start(self) -> None:
        """Load the weights, build the engine, start the scheduler; it compiles and warms up."""
        started = time.monotonic()
        self._progress(f"loading {self._load_options.model}")
        options = self._load_options
        self._processor, model = await in_daemon_thread(
            lambda: self._loader(options), name="medgemma-load"
        )
        await in_daemon_thread(lambda: self._build(model), name="medgemma-build")
        assert self._scheduler is not None
        # The generation thread compiles and records its CUDA graphs itself, before it
        # serves: graphs replay only in the thread that recorded them (compiled.py).
        self._scheduler.start()
        if not await asyncio.wrap_future(self._scheduler.ready) and self._wants_compile():
            self._progress("compilation failed; decoding without CUDA graphs")
        self.startup_seconds = time.monotonic() - started
        self._progress(f"ready in {self.startup_seconds:.1f} s")

    def _build(self, model: Any) -> None:
        config = model.config
        text = config.get_text_config()
        tokenizer = self._processor.tokenizer
        # Each thread gets its own tokenizer: the Rust tokenizer refuses concurrent use
        # ("Already borrowed"). This one counts on the event loop's thread, the
        # preparation workers have theirs, the generation thread detokenizes with another.
        self._counter = copy.deepcopy(tokenizer)
        self._prep = PreparationPool(self._processor, workers=self._options.prepare_workers)
        self.capabilities = Capabilities(
            context_tokens=int(text.max_position_embeddings),
            tokens_per_image=int(config.mm_tokens_per_image) + _IMAGE_WRAPPER_TOKENS,
        )
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        stop_ids = set() if self._options.ignore_eos else _stop_ids(model, tokenizer)
        if self._options.engine == "generate":
            self._scheduler = BatchScheduler(
                model=model,
                tokenizer=copy.deepcopy(tokenizer),
                stop_ids=stop_ids,
                hidden_ids=_hidden_ids(tokenizer),
                max_waiting=self._options.max_waiting,
                max_batch=self._options.max_batch,
                prefill_tokens=self._options.prefill_tokens,
                pad_id=pad,
                compile_steps=self._wants_compile(),
                ignore_eos=self._options.ignore_eos,
            )
            return
        self._build_engine(model, text, tokenizer, pad=pad, stop_ids=stop_ids)

    def _build_engine(
        self, model: Any, text: Any, tokenizer: Any, *, pad: int, stop_ids: set[int]
    ) -> None:
        """The slot-cache engine and its continuous-batching scheduler."""
        attn = self._load_options.attention
        self.engine = Engine(
            model=model,
            rows=self._options.max_batch,
            slot_tokens=self._options.slot_tokens,
            pad_id=pad,
            attn_impl=attn,
        )
        self.memory = self._estimate(model, text)

        def long_lane(tokens: int) -> Engine:
            size = -(-tokens // 1024) * 1024
            return Engine(model=model, rows=1, slot_tokens=size, pad_id=pad, attn_impl=attn)

        self._scheduler = Scheduler(
            engine=self.engine,
            tokenizer=copy.deepcopy(tokenizer),
            stop_ids=stop_ids,
            hidden_ids=_hidden_ids(tokenizer),
            max_waiting=self._options.max_waiting,
            prefill_tokens=self._options.prefill_tokens,
            long_lane=long_lane,
            compile_steps=self._wants_compile(),
            progress=self._progress,
        )

    def _estimate(self, model: Any, text: Any) -> memory.MemoryEstimate:
        """The memory this engine should need at most (logged, and shown by `bench`)."""
        assert self.engine is not None
        estimate = memory.estimate(
            text,
            weights=memory.weight_bytes(model),
            rows=self._options.max_batch,
            slot_tokens=self._options.slot_tokens,
            prefill_tokens=self._options.prefill_tokens,
            dtype_bytes=self.engine.cache.keys[0].element_size(),
        )
        fields: dict[str, Any] = {f"{k}_gib": v for k, v in estimate.gib().items()}
        event(log, "memory_estimate", **fields)
        return estimate

    @property
    def wants_compile(self) -> bool:
        """Whether decoding should run compiled (MEDGEMMA_COMPILE, auto: with a GPU)."""
        return self._wants_compile()

    def _wants_compile(self) -> bool:
        if self._options.compile == "auto":
            return choose_device(self._load_options.device) == "cuda"
        return self._options.compile == "on"

    async def prepare(self, request: GenerationRequest) -> PreparedPrompt:
        """Template, tokens and pixels for a request (in a preparation worker)."""
        if self._prep is None:
            raise BackendUnavailable("transformers backend not started")
        return await self._prep.prepare(request.messages)

    def prepare_sync(self, request: GenerationRequest) -> PreparedPrompt:
        """`prepare` in the caller's thread (benchmarks, while nothing else runs)."""
        return prepare(self._processor, request.messages)

    def count_prompt_tokens(self, messages: tuple[ChatMessage, ...]) -> int:
        """Prompt tokens of a conversation, image tokens included."""
        return prepare(self._processor, messages).length

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        """Queue the request and yield its answer as it is decoded.

        No deadline of its own: the caller's (the pipeline's generation deadline)
        cancels the stream, and closing the stream frees the request's row at once.
        """
        if self._scheduler is None:
            raise BackendUnavailable("transformers backend not started")
        thoughts = ThinkingFilter()
        ticket: Ticket | None = None
        try:
            prompt = await self.prepare(request)
            ticket = self._scheduler.submit(
                prompt,
                max_new_tokens=request.max_new_tokens,
                on_position=request.on_queue_position,
            )
            async for chunk in ticket.stream():
                if visible := thoughts.feed(chunk):
                    yield visible
        finally:
            if ticket is not None:  # a consumer that stops listening frees the row at once
                ticket.cancel()
        if tail := thoughts.flush():
            yield tail
        if request.on_finish is not None:
            cut = ticket is not None and ticket.job.stopped_at_limit
            request.on_finish("length" if cut else "stop")

    def count_text_tokens(self, text: str) -> int:
        """Exact token count with the checkpoint's tokenizer."""
        if self._counter is None:
            return estimate_text_tokens(text)
        return len(self._counter(text, add_special_tokens=False)["input_ids"])

    @property
    def scheduler(self) -> GenerationThread:
        """The running scheduler (for `bench`, which times requests token by token)."""
        if self._scheduler is None:
            raise BackendUnavailable("transformers backend not started")
        return self._scheduler

    async def aclose(self) -> None:
        """Stop the generation thread and release the model."""
        if self._scheduler is not None:
            await asyncio.to_thread(self._scheduler.stop)
            self._scheduler = None
        if self._prep is not None:
            self._prep.shutdown()
        self.engine = None


def _stop_ids(model: Any, tokenizer: Any) -> set[int]:
    """End-of-answer tokens: the checkpoint's EOS ids and <end_of_turn>."""
    ids: set[int] = set()
    for source in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
        if isinstance(source, int):
            ids.add(source)
        elif source:
            ids.update(int(i) for i in source)
    end_of_turn = tokenizer.convert_tokens_to_ids("<end_of_turn>")
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        ids.add(end_of_turn)
    return ids


def _hidden_ids(tokenizer: Any) -> set[int]:
    """Special tokens never shown, except the thought markers the filter needs to see."""
    keep = {tokenizer.convert_tokens_to_ids(m) for m in _THOUGHT_MARKERS}
    return {int(i) for i in tokenizer.all_special_ids} - keep
