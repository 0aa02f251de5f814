"""One decoding process seen from the bot: start it, exchange a request for a reply, kill it.

The process is `python -m bot.pipeline.decoding.worker`, in its own session (a Ctrl-C in the
terminal is the bot's to handle, not the worker's). Requests and replies are
length-prefixed pickles over its stdin and stdout. Replies are read with an unpickler
that builds only the types a decoded file is made of: the worker reads hostile bytes,
so its answers are not trusted to name arbitrary callables.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from bot import errors
from bot.errors import ImagingError
from bot.imaging.types import DecodedFile, ImagingOptions, ModelImage
from bot.pipeline.decoding import worker

WORKER_COMMAND = (sys.executable, "-m", "bot.pipeline.decoding.worker")
BOOT_TIMEOUT_S = 120.0  # importing the imaging libraries on a loaded machine
# A reply larger than this is not a decoded file (125 slide patches are about 300 MB).
MAX_REPLY_BYTES = 2**30

Outcome = tuple[DecodedFile | ImagingError, int]  # the file or its error; pixels decoded
# Names of settings that hold credentials (tokens, secrets, keys, URLs with passwords).
_SECRET = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|REDIS_URL", re.IGNORECASE)

_ALLOWED = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy._core.multiarray", "_reconstruct"),  # numpy 2, arrays pickled in band
        ("numpy.core.multiarray", "_reconstruct"),
        ("bot.imaging.types", "DecodedFile"),
        ("bot.imaging.types", "GreyValues"),
        ("bot.imaging.types", "Intensity"),
        ("bot.imaging.types", "Layout"),
        ("bot.imaging.types", "ModelImage"),
        ("bot.imaging.types", "PrivacyFlag"),
        ("bot.specialty", "Specialty"),
        ("numpy", "dtype"),
        ("numpy._core.numeric", "_frombuffer"),  # numpy 2
        ("numpy.core.numeric", "_frombuffer"),  # numpy 1.26
    }
)


class WorkerGone(Exception):
    """The process ended (killed, crashed, out of memory) before it replied."""


class WorkerBroken(RuntimeError):
    """The process sent something that is not a reply: a bug, never a file's fault."""


class _Unpickler(pickle.Unpickler):
    """Builds only what a decoded file is made of."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise WorkerBroken(f"a decoding process's reply names {module}.{name}")
        return super().find_class(module, name)


def worker_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The bot's environment less its credentials: a process reading hostile bytes needs none."""
    return {name: value for name, value in environment.items() if not _SECRET.search(name)}


class DecodeProcess:
    """A started decoding process; `exchange` blocks, so callers run it in a thread."""

    def __init__(
        self,
        *,
        memory_bytes: int,
        command: Sequence[str] = WORKER_COMMAND,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.process = subprocess.Popen(
            [*command, str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=environment,
        )
        self.ready = False

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def wait_ready(self) -> None:
        """Block until the process has loaded the imaging libraries."""
        if not self.ready:
            if self._receive() != ("ready",):
                raise WorkerBroken("a decoding process did not start as expected")
            self.ready = True

    def exchange(self, data: bytes, *, options: ImagingOptions) -> Outcome:
        """Decode one file: send it, wait for the reply; WorkerGone when the process ends first."""
        stdin = self.process.stdin
        assert stdin is not None
        try:
            worker.send(stdin, (pickle.PickleBuffer(data), options))
        except (OSError, ValueError) as exc:  # a broken pipe, or closed by kill()
            raise WorkerGone from exc
        return outcome(self._receive())

    def _receive(self) -> object:
        """The next message from the process, unpickled with the allowed types only."""
        stdout = self.process.stdout
        assert stdout is not None
        try:
            message = worker.receive(stdout, limit=MAX_REPLY_BYTES)
        except worker.MessageTooLarge as exc:
            raise WorkerBroken("a decoding process sent an oversized reply") from exc
        except (OSError, ValueError) as exc:  # a broken pipe, or closed by reap()
            raise WorkerGone from exc
        if message is None:
            raise WorkerGone
        return unpickle(*message)

    def kill(self) -> None:
        """End the process now (SIGKILL); a blocked `exchange` then raises WorkerGone."""
        if self.process.poll() is None:
            self.process.kill()

    def reap(self) -> None:
        """Kill, wait for the process and close its pipes (blocks briefly)."""
        self.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # a broken pipe's unflushed bytes


def unpickle(body: bytes, buffers: list[bytearray]) -> object:
    """A message from a worker, built from the allowed types only."""
    try:
        return _Unpickler(io.BytesIO(body), buffers=buffers).load()
    except WorkerBroken:
        raise
    except Exception as exc:
        raise WorkerBroken("a decoding process sent an unreadable reply") from exc


def outcome(parsed: object) -> Outcome:
    """A reply's decoded file (its images rebuilt) or ImagingError, and the pixels decoded."""
    match parsed:
        case ("ok", DecodedFile() as bare, list() as arrays, list() as labels, int() as pixels):
            images = tuple(_model_image(a, label) for a, label in zip(arrays, labels, strict=True))
            return dataclasses.replace(bare, images=images), pixels
        case ("error", (str() as name, str() as detail, dict() as params), int() as pixels):
            return _error(name, detail, params), pixels
    raise WorkerBroken("a decoding process sent a reply of the wrong shape")


def _model_image(array: object, label: object) -> ModelImage:
    """A model image from the RGB array and label a worker sent."""
    if not (
        isinstance(array, np.ndarray)
        and array.dtype == np.uint8
        and array.ndim == 3
        and array.shape[2] == 3
        and (label is None or isinstance(label, str))
    ):
        raise WorkerBroken("a decoding process sent an image that is not 8-bit RGB")
    return ModelImage(image=Image.fromarray(array), label=label)


def _error(name: str, detail: str, params: dict[str, object]) -> ImagingError:
    """The ImagingError a worker raised, rebuilt from its class name, detail and params."""
    kind = getattr(errors, name, None)
    if not isinstance(kind, type) or not issubclass(kind, ImagingError):
        raise WorkerBroken("a decoding process named an error that is not an ImagingError")
    return kind(detail, **params)
