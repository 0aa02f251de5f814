"""A decoding process: files in on stdin, decoded files out on stdout, under a memory limit.

    python -m bot.pipeline.decoding.worker MEMORY_BYTES

Started and killed by `bot.pipeline.decoding.processes`. Decoders that hold the GIL
(openjpeg, imagecodecs) cannot be stopped inside a thread; a process can be killed. The
address-space limit makes a bomb fail here, as a MemoryError or a crash, not in the bot.
Nothing is logged and stray output goes nowhere: the libraries' messages can quote the file.

Messages are pickles (protocol 5) whose large buffers travel beside them, out of band:
a head (lengths), the pickle, then each buffer's bytes as they are in memory. A decoded
file's images cross as arrays that way, with no copy into or out of a pickle stream.
"""

from __future__ import annotations

import io
import os
import pickle
import resource
import struct
import sys
from typing import IO, Any, cast

# Set before numpy loads: one BLAS thread, one OpenMP thread. Decoding uses neither, and
# their per-thread stacks and buffers would count against the address-space limit (64
# threads' worth on a large server).
_QUIET_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
_HEAD = struct.Struct(">QQ")  # pickle length, number of buffers
_LENGTH = struct.Struct(">Q")


class MessageTooLarge(Exception):
    """A message says it is longer than the reader accepts."""


def main(argv: list[str]) -> None:
    """Serve decode requests until stdin closes."""
    memory = int(argv[1]) if len(argv) > 1 else 0
    if memory > 0:  # the whole process, the imaging libraries included
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    for name, value in _QUIET_THREADS.items():
        os.environ[name] = value
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Anything a library prints lands nowhere rather than inside a reply.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    from bot import imaging

    imaging.configure()
    send(replies, ("ready",))
    requests = sys.stdin.buffer
    while (request := receive(requests)) is not None:
        head, buffers = request
        send(replies, answer(pickle.loads(head, buffers=buffers)))


def answer(request: tuple[bytes, Any]) -> tuple[object, ...]:
    """Decode one request; the reply says what came of it, errors as safe values.

    A decoded file crosses as itself without its images, then its images as RGB arrays
    and their labels; an error as its class name, detail and params (pickling an
    exception loses its params).
    """
    import dataclasses

    import numpy as np

    from bot import imaging
    from bot.errors import DecodeBudgetExceeded, ImagingError
    from bot.imaging.budget import Allowance

    data, options = request
    allowance = Allowance(options.budget)
    try:
        decoded = imaging.decode(bytes(data), options=options, allowance=allowance)
        arrays = [np.asarray(model.image) for model in decoded.images]
        labels = [model.label for model in decoded.images]
        bare = dataclasses.replace(decoded, images=())
        return ("ok", bare, arrays, labels, allowance.pixels_spent)
    except ImagingError as exc:
        error: ImagingError = exc
    except MemoryError:
        error = DecodeBudgetExceeded(detail="out of memory in the decoding process")
    return ("error", (type(error).__name__, error.detail, error.params), allowance.pixels_spent)


def send(stream: IO[bytes], message: object) -> None:
    """Write one message: head, pickle, then its buffers as they are in memory."""
    buffers: list[pickle.PickleBuffer] = []
    body = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    views = [buffer.raw() for buffer in buffers]
    stream.write(_HEAD.pack(len(body), len(views)))
    stream.write(body)
    for view in views:
        stream.write(_LENGTH.pack(view.nbytes))
        stream.write(view)
    stream.flush()


def receive(stream: IO[bytes], *, limit: int = 2**62) -> tuple[bytes, list[bytearray]] | None:
    """One message's pickle and buffers; None when the stream ends, whole or cut.

    MessageTooLarge when the message says it is longer than `limit` bytes in all.
    """
    head = _exactly(stream, _HEAD.size)
    if head is None:
        return None
    size, count = _HEAD.unpack(head)
    if size > limit:
        raise MessageTooLarge("message over the size limit")
    total, body = size, _exactly(stream, size)
    buffers: list[bytearray] = []
    for _ in range(count):
        length = _exactly(stream, _LENGTH.size) if body is not None else None
        if length is None:
            return None
        (nbytes,) = _LENGTH.unpack(length)
        total += nbytes
        if total > limit:
            raise MessageTooLarge("message over the size limit")
        buffer = _exactly(stream, nbytes)
        if buffer is None:
            return None
        buffers.append(buffer)
    return None if body is None else (bytes(body), buffers)


def _exactly(stream: IO[bytes], size: int) -> bytearray | None:
    """`size` bytes from the stream, read into one buffer; None when the stream ends first."""
    into = bytearray(size)
    view, filled = memoryview(into), 0
    while filled < len(into):
        # Popen's pipes and sys.stdin.buffer are buffered readers: they read into a buffer.
        got = cast(io.BufferedIOBase, stream).readinto(view[filled:])
        if not got:
            return None
        filled += got
    return into


if __name__ == "__main__":
    main(sys.argv)
