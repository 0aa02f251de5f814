"""Reading a step's tokens back to the host without stalling the next step.

On CUDA the copy goes into pinned memory with `non_blocking=True` and an event marks
its completion, so the host can queue the next decoding step first and wait for this
one's tokens while the GPU works. Two host buffers alternate: the scheduler keeps at
most one step in flight while it reads the previous one.
"""

from __future__ import annotations

import torch

_BUFFERS = 2  # one being read, one being filled


class PendingTokens:
    """Tokens of one step, on their way to the host."""

    def __init__(self, host: torch.Tensor, done: torch.cuda.Event | None) -> None:
        self._host = host
        self._done = done

    def result(self) -> list[int]:
        """Wait for the copy (if it is still running) and return the tokens."""
        if self._done is not None:
            self._done.synchronize()
        tokens: list[int] = self._host.tolist()
        return tokens


class Readback:
    """Alternating host buffers for device-to-host copies of token ids."""

    def __init__(self, *, rows: int, device: torch.device) -> None:
        self._cuda = device.type == "cuda"
        self._host = [
            torch.empty(rows, dtype=torch.long, pin_memory=self._cuda) for _ in range(_BUFFERS)
        ]
        self._next = 0

    def start(self, tokens: torch.Tensor) -> PendingTokens:
        """Begin copying `tokens` (a 1-d device tensor) to the host."""
        host = self._host[self._next][: tokens.shape[0]]
        self._next = (self._next + 1) % _BUFFERS
        host.copy_(tokens, non_blocking=self._cuda)
        done: torch.cuda.Event | None = None
        if self._cuda:
            done = torch.cuda.Event()
            done.record()
        return PendingTokens(host, done)
