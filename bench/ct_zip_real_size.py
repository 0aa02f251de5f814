"""What a real-sized zipped CT series costs: a 300-slice 512 x 512 series (about 160 MB).

    .venv/bin/python bench/ct_zip_real_size.py [--slices 300] [--side 512]

Builds the series (int16 noise, so the zip cannot shrink it; stored, as a PACS export
of uncompressed DICOM would be), asks about it through a running bot at the shipped
settings against the fake Slack and the scripted model, and prints the zip's size, the
time to the answer, the bot's peak resident memory rise, the decoding processes' peak
(summed and the largest), and the decoded series as the image cache holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import io
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bad_input_memory import WorkerSampler, reset_peak, rss_mib, status_mib

from tests.e2e.harness import running_bot
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack
from tests.imaging.helpers import SERIES_UID, dicom_bytes, sample_dataset

MB = 2**20


def series_zip(slices: int, side: int) -> bytes:
    """`slices` CT slices of `side` x `side` int16 noise in one series, zipped (stored)."""
    base = sample_dataset("CT_small.dcm")
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(slices):
            ds = copy.deepcopy(base)
            ds.SeriesInstanceUID = SERIES_UID
            ds.SOPInstanceUID = f"{SERIES_UID}.{i + 1}"
            ds.InstanceNumber = i + 1
            ds.ImagePositionPatient = [0.0, 0.0, 1.25 * i]
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            ds.Rows = ds.Columns = side
            noise = rng.integers(-1000, 1500, size=(side, side), dtype=np.int16)
            ds.PixelData = noise.tobytes()
            archive.writestr(f"series/{i + 1:04d}.dcm", dicom_bytes(ds))
    return buffer.getvalue()


async def main(args: argparse.Namespace) -> None:
    started = time.monotonic()
    data = series_zip(args.slices, args.side)
    built = time.monotonic() - started
    print(f"zip: {args.slices} slices of {args.side}x{args.side}, {len(data) / MB:.1f} MiB")
    print(f"(built in {built:.1f} s)")
    cap = {"MEDGEMMA_MAX_FILE_MB": args.cap_mb}
    async with FakeSlack() as fake, running_bot(fake, FakeBackend(), **cap) as h:
        file = fake.add_file(data, name="ct.zip", mimetype="application/zip", filetype="zip")
        before = rss_mib()
        reset_peak("self")
        with WorkerSampler(h) as workers:
            asked = time.monotonic()
            ts = await h.ask("What does this CT show?", files=[file])
            [reply] = await h.replies(ts)
            took = time.monotonic() - asked
            await h.settle()  # the contact sheet's upload too
        rise = status_mib("self", "VmHWM") - before
        kind = reply["metadata"]["event_type"]
        cached = h.slack.files._cache.nbytes
    print(f"reply: {kind} after {took:.1f} s")
    print(f"bot peak rise: {rise:.0f} MiB (resident before: {before:.0f} MiB)")
    print(f"decoding processes' peak: {workers.peak_sum:.0f} MiB summed,", end=" ")
    print(f"largest {workers.peak_one:.0f} MiB")
    print(f"decoded series in the image cache: {cached / MB:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--cap-mb", default="200", help="MEDGEMMA_MAX_FILE_MB for the run")
    asyncio.run(main(parser.parse_args()))
