"""Decoding files one at a time versus through the file loader's decoding processes.

    .venv/bin/python bench/decode_threads.py [--files 16] [--rounds 3]

Decodes `--files` copies of a fundus photo (scikit-image's retina, as PNG) and of a CT
slice (pydicom's CT_small.dcm), first one after another on one thread, then all at once
through FileLoader (its MEDGEMMA_DECODE_WORKERS processes, started and warmed before the
clock starts; no cache hits: each copy has its own key). Prints the best wall time of
`--rounds` for each and the ratio. With two free cores the loader should take clearly
less than the serial time.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image
from skimage import data as skimage_data

from bot import imaging
from bot.pipeline.file_loader import FileLoader, imaging_options
from bot.pipeline.messages import Message
from bot.settings import Settings
from tests.imaging.helpers import sample


@dataclass(frozen=True)
class MemoryFile:
    """A shared file in memory."""

    key: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    async def read(self) -> bytes:
        return self.data


def files(count: int) -> list[bytes]:
    """Half photos, half CT slices."""
    buffer = io.BytesIO()
    Image.fromarray(skimage_data.retina()).save(buffer, format="PNG")
    photo, ct = buffer.getvalue(), sample("CT_small.dcm")
    return [photo if n % 2 else ct for n in range(count)]


def serial(blobs: list[bytes], settings: Settings) -> float:
    imaging.configure()
    options = imaging_options(settings)
    started = time.perf_counter()
    for blob in blobs:
        imaging.decode(blob, options=options)
    return time.perf_counter() - started


async def threaded(blobs: list[bytes], settings: Settings, round_: int) -> float:
    loader = FileLoader(settings=settings)
    shared = tuple(MemoryFile(f"r{round_}-f{n}", blob) for n, blob in enumerate(blobs))
    warm = [MemoryFile(f"r{round_}-warm{n}", blobs[0]) for n in range(settings.decode_workers)]
    await loader.decode_thread([Message("user", "q", files=tuple(warm))])  # processes started
    started = time.perf_counter()
    try:
        # One message per file: the assembly of DICOM slices into a series stays out.
        await loader.decode_thread([Message("user", "q", files=(f,)) for f in shared])
    finally:
        loader.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    blobs = files(args.files)
    one = min(serial(blobs, settings) for _ in range(args.rounds))
    pool = min(asyncio.run(threaded(blobs, settings, r)) for r in range(args.rounds))
    workers = settings.decode_workers
    print(f"{args.files} files, {os.cpu_count()} CPUs, {workers} decoding processes")
    print(f"one at a time:      {one:.3f} s")
    print(f"decoding processes: {pool:.3f} s  ({one / pool:.2f}x)")


if __name__ == "__main__":
    main()
