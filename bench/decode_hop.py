"""What decoding in a separate process costs: the same files decoded in the bot's own
process (as the decoding threads did) and through the file loader's decoding processes.

    .venv/bin/python bench/decode_hop.py [--rounds 9]

Files: a photo PNG of about 2 MB (scikit-image's retina) and a zip of a 120-slice CT
(pydicom's CT_small enlarged to 512 x 512, one file a slice; 85 slices are sampled and
come back as model images). The processes are started and warmed before the clock
starts; the two paths take turns. Prints the median of `--rounds` for each, side by side,
and the difference: the hop (the file's bytes in, the decoded images back, through a
pipe) and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import io
import statistics
import sys
import time
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image
from skimage import data as skimage_data

from bot import imaging
from bot.pipeline.decoding.jobs import Ticket
from bot.pipeline.decoding.pool import DecodePool
from bot.pipeline.file_loader import imaging_options
from bot.settings import Settings
from tests.imaging.helpers import dicom_bytes, sample_dataset


def photo_png() -> bytes:
    """The retina photo as PNG, with a little sensor-like noise: about 2 MB."""
    retina = skimage_data.retina().astype(np.int16)
    noise = np.random.default_rng(0).integers(-1, 2, retina.shape, dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(retina + noise, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def ct_zip(slices: int = 120, side: int = 512) -> bytes:
    """A zip of `slices` CT files of side x side pixels, one series."""
    base = sample_dataset("CT_small.dcm")
    factor = side // int(base.Rows)
    stored = np.kron(base.pixel_array, np.ones((factor, factor), dtype=base.pixel_array.dtype))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(slices):
            ds = copy.deepcopy(base)
            ds.Rows = ds.Columns = side
            ds.PixelData = stored.tobytes()
            ds.InstanceNumber = n + 1
            ds.ImagePositionPatient = [0.0, 0.0, 2.5 * n]
            archive.writestr(f"IM{n:04d}.dcm", dicom_bytes(ds))
    return buffer.getvalue()


async def medians(paths: list[Callable[[], Awaitable[object]]], rounds: int) -> list[float]:
    """The median seconds of each path, the paths taking turns (load drifts alike on both)."""
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(rounds):
        for path, spent in zip(paths, times, strict=True):
            started = time.perf_counter()
            await path()
            spent.append(time.perf_counter() - started)
    return [statistics.median(spent) for spent in times]


async def main(rounds: int) -> None:
    settings = Settings()
    options = imaging_options(settings)
    imaging.configure()
    pool = DecodePool(budget=options.budget)
    files = {"2 MB PNG photo": photo_png(), "120-slice CT zip (512 x 512)": ct_zip()}
    try:
        for data in files.values():  # start and warm the processes
            await pool.decode(data, options=options, ticket=Ticket.of(options.budget))
        print(f"medians of {rounds} rounds, one file at a time")
        print(f"{'file':30} {'bytes':>10} {'in process':>11} {'via worker':>11} {'hop':>8}")
        for name, data in files.items():

            async def here(data: bytes = data) -> object:
                return imaging.decode(data, options=options)

            async def there(data: bytes = data) -> object:
                return await pool.decode(data, options=options, ticket=Ticket.of(options.budget))

            local, remote = await medians([here, there], rounds)
            hop = remote - local
            print(f"{name:30} {len(data):>10,} {local:>10.3f}s {remote:>10.3f}s {hop:>+7.3f}s")
    finally:
        pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    asyncio.run(main(parser.parse_args().rounds))
