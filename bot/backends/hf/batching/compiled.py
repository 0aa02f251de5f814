"""The decoding step compiled with CUDA graphs, and what happens when that fails.

One Dynamo/Inductor compile serves every batch bucket from 2 rows up: the batch
dimension is marked dynamic, so only a CUDA graph is recorded per bucket (graphs have
fixed shapes; cudagraph trees keep them in one shared memory pool). Bucket 1 would need
its own compile (Dynamo specializes sizes 0 and 1), so a lane of several rows decodes a
lone request as a batch of 2: on a GPU the step is bound by reading the weights, and
one idle row costs next to nothing.

Compilation, warm-up and every later call must run in the one thread that decodes:
torch's cudagraph trees keep their state per thread (pytorch/pytorch#123177), and a
graph recorded in one thread fails when another thread makes it re-record. At serving
time a recompile is refused (`fail_on_recompile`) and any failure of the compiled step
runs that step eagerly instead, counted and logged, so an answer never fails for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from bot.logs import event

log = logging.getLogger(__name__)

StepFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
Inputs = Callable[[int], tuple[torch.Tensor, torch.Tensor]]

_WARM_CALLS = 3  # compile (cudagraph trees: warm up), record the graph, replay it
_GIVE_UP_AFTER = 3  # consecutive serving-time failures before compiled steps stop


@dataclass
class CompileStats:
    """What compiling cost and how the compiled step has behaved since."""

    seconds: float = 0.0
    graphs: int = 0  # Dynamo graphs compiled at start-up (graph breaks add some)
    graph_breaks: int = 0
    cudagraph_skips: int = 0  # Inductor's count of graphs it ran without CUDA graphs
    fallbacks: int = 0  # serving-time steps that ran eagerly instead


def dynamo_counters() -> dict[str, int]:
    """Torch's process-wide compile counters that `CompileStats` reports."""
    from torch._dynamo.utils import counters

    return {
        "graphs": int(counters["stats"]["unique_graphs"]),
        "graph_breaks": int(sum(counters["graph_break"].values())),
        "cudagraph_skips": int(counters["inductor"]["cudagraph_skips"]),
    }


class StepRunner:
    """Runs the decoding step compiled when it can, eagerly when it must."""

    def __init__(self, eager: StepFn) -> None:
        self._eager = eager
        self._compiled: StepFn | None = None
        self._thread: int | None = None  # the thread that compiled (and must replay)
        self._failures = 0
        self.stats = CompileStats()

    @property
    def compiled(self) -> bool:
        """Whether calls go through the compiled step."""
        return self._compiled is not None

    def compile(
        self, *, buckets: Sequence[int], inputs: Inputs, progress: Callable[[str], None]
    ) -> bool:
        """Compile once, record a CUDA graph per bucket (in this thread); False on failure."""
        compiled = torch.compile(self._eager, mode="reduce-overhead", fullgraph=False)
        before = dynamo_counters()
        started = time.monotonic()
        try:
            for n, bucket in enumerate(buckets, start=1):
                progress(f"compiling the decoding step for batch {bucket} ({n}/{len(buckets)})")
                for _ in range(_WARM_CALLS):
                    ids, positions = inputs(bucket)
                    if len(buckets) > 1:  # one graph for all buckets (see the module doc)
                        torch._dynamo.mark_dynamic(ids, 0, min=2, max=max(buckets))
                        torch._dynamo.mark_dynamic(positions, 0, min=2, max=max(buckets))
                    torch.compiler.cudagraph_mark_step_begin()
                    compiled(ids, positions)
        except Exception:
            event(
                log, "compile_failed", level=logging.ERROR, exc_info=True, after_s=_since(started)
            )
            return False
        after = dynamo_counters()
        self.stats.seconds = _since(started)
        for name, value in after.items():
            setattr(self.stats, name, value - before[name])
        self._compiled = compiled
        self._thread = threading.get_ident()
        counts: dict[str, Any] = dict(after)
        event(log, "compiled", seconds=self.stats.seconds, buckets=len(buckets), **counts)
        return True

    def __call__(
        self, ids: torch.Tensor, positions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: next tokens [batch] and last-position logits [batch, vocab]."""
        compiled = self._compiled
        if compiled is None:
            return self._eager(ids, positions)
        if threading.get_ident() != self._thread:
            # Replaying from another thread is what breaks cudagraph trees: stay eager.
            return self._eager(ids, positions)
        try:
            # A new step: the last step's outputs may be overwritten (they were copied).
            torch.compiler.cudagraph_mark_step_begin()
            with torch.compiler.set_stance("fail_on_recompile"):
                result = compiled(ids, positions)
        except torch.OutOfMemoryError:
            raise
        except Exception as exc:
            self._fell_back(exc, batch=int(ids.shape[0]))
            return self._eager(ids, positions)
        self._failures = 0
        return result

    def _fell_back(self, exc: Exception, *, batch: int) -> None:
        self.stats.fallbacks += 1
        self._failures += 1
        event(
            log,
            "compiled_step_fallback",
            level=logging.WARNING,
            batch=batch,
            error_type=type(exc).__name__,
            fallbacks=self.stats.fallbacks,
        )
        if self._failures >= _GIVE_UP_AFTER:
            self._compiled = None
            event(log, "compiled_steps_disabled", level=logging.WARNING, after=self._failures)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 2)
