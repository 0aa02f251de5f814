"""A decoding process for the pool's tests: the real worker, with cues that misbehave.

    python tests/pipeline/fake_worker.py FOLDER MEMORY_BYTES

A request whose bytes start with a cue acts it out; anything else is decoded for real.
- b"sleep": never answers, like a decoder that holds its process on a frame bomb;
- b"meet": waits (up to 20 s) until another process is inside a "meet" too, then answers
  with a tiny PNG decoded (two files decoding at the same time, or not);
- b"hog": allocates 1 GiB, past the tests' address-space limit.
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image

from bot import imaging
from bot.pipeline.decoding import worker

REAL_DECODE = imaging.decode


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (40, 80, 120)).save(buffer, format="PNG")
    return buffer.getvalue()


def acting(folder: Path) -> Any:
    def decode(data: bytes, **kwargs: Any) -> imaging.DecodedFile:
        if data.startswith(b"sleep"):
            time.sleep(3600)
        if data.startswith(b"hog"):
            bytearray(2**30)  # 1 GiB: fine for the machine, not for a 768 MiB process
        if data.startswith(b"meet"):
            (folder / str(os.getpid())).touch()
            deadline = time.monotonic() + 20
            while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            data = tiny_png() if len(list(folder.iterdir())) >= 2 else b"not met"
        return REAL_DECODE(data, **kwargs)

    return decode


if __name__ == "__main__":
    imaging.decode = acting(Path(sys.argv[1]))  # type: ignore[assignment]
    worker.main([sys.argv[0], *sys.argv[2:]])
