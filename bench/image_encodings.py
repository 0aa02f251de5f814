"""Lossless encodings for the model server: time and size of one 896 px image each.

    .venv/bin/python bench/image_encodings.py

What the openai backend could send for a CT slice (three windows, colour), a fundus
photo and a radiograph (grey), each at the model's 896 x 896: PNG at zlib levels 1 and 0,
PNG of one channel for the grey image, WebP lossless at its fastest effort, TIFF with
LZW and BMP (no compression). The server must read it (vLLM opens images with Pillow
and converts them to RGB; Ollama's decoders take PNG, JPEG and WebP) and the request
must stay small (85 slices go in one request). Best of 5, on whatever the machine is.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.data import get_testdata_file
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.backends.openai_compat import one_channel

SIDE = 896


def images() -> dict[str, Image.Image]:
    """A three-window CT slice, a fundus photo, a grey radiograph-like image."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)

    def window(low: float, high: float) -> np.ndarray:
        return (np.clip((hu - low) / (high - low), 0, 1) * 255).round().astype(np.uint8)

    ct = np.stack([window(-1024, 1024), window(-135, 215), window(0, 80)], -1)
    return {
        "CT slice (colour)": Image.fromarray(ct).resize((SIDE, SIDE)),
        "fundus (colour)": Image.fromarray(data.retina()).resize((SIDE, SIDE)),
        "radiograph (grey)": Image.fromarray(data.camera()).convert("RGB").resize((SIDE, SIDE)),
    }


def saver(fmt: str, **params: object) -> Callable[[Image.Image], bytes]:
    def save(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **params)
        return buffer.getvalue()

    return save


ENCODINGS: dict[str, Callable[[Image.Image], bytes]] = {
    "PNG level 1 (RGB)": saver("PNG", compress_level=1),
    # What the openai backend sends (bot/backends/openai_compat.py), base64 aside.
    "PNG level 1, one channel if grey": lambda image: saver("PNG", compress_level=1)(
        one_channel(image)
    ),
    "PNG level 0": saver("PNG", compress_level=0),
    "WebP lossless, effort 0": saver("WEBP", lossless=True, method=0, quality=0),
    "TIFF LZW": saver("TIFF", compression="tiff_lzw"),
    "BMP": saver("BMP"),
}


def best_ms(encode: Callable[[Image.Image], bytes], image: Image.Image) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(5):
        started = time.perf_counter()
        size = len(encode(image))
        best = min(best, time.perf_counter() - started)
    return best * 1000, size


def main() -> None:
    print("| image | encoding | ms | MB |\n|---|---|---|---|")
    for name, image in images().items():
        for label, encode in ENCODINGS.items():
            ms, size = best_ms(encode, image)
            print(f"| {name} | {label} | {ms:.1f} | {size / 1e6:.2f} |")


if __name__ == "__main__":
    main()
