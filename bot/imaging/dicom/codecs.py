"""JPEG lossless, 12-bit JPEG and JPEG-LS for pydicom, through imagecodecs (BSD-3-Clause).

pydicom's own plugins for these syntaxes need pylibjpeg-libjpeg (GPL-3.0, unfit for an
Apache-2.0 bot) or GDCM (no 12-bit JPEG). imagecodecs wraps libjpeg-turbo, a lossless JPEG
decoder and CharLS under permissive licences; this module is a pydicom decoder plugin as
pydicom documents them (https://pydicom.github.io/pydicom/stable/guides/decoding/decoder_plugins.html):
`is_available(uid)`, `DECODER_DEPENDENCIES` and a frame function, registered once with
`Decoder.add_plugin`. Colour baseline JPEG stays with pydicom's Pillow plugin, which
handles its YBR colour spaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import imagecodecs
import numpy as np
from pydicom import uid
from pydicom.pixels.decoders.base import DecodeRunner, get_decoder

LABEL = "imagecodecs"

_DECODERS: dict[str, Callable[[bytes], Any]] = {
    uid.JPEGExtended12Bit: imagecodecs.jpeg8_decode,
    uid.JPEGLossless: imagecodecs.ljpeg_decode,
    uid.JPEGLosslessSV1: imagecodecs.ljpeg_decode,
    uid.JPEGLSLossless: imagecodecs.jpegls_decode,
    uid.JPEGLSNearLossless: imagecodecs.jpegls_decode,
}

DECODER_DEPENDENCIES = {syntax: ("numpy", "imagecodecs") for syntax in _DECODERS}


def is_available(syntax: str) -> bool:
    """Whether this plugin decodes `syntax` (pydicom's plugin interface)."""
    return syntax in _DECODERS


def decode_frame(src: bytes, runner: DecodeRunner) -> bytes:
    """One frame's pixels, colour by pixel, in the smallest container that holds them."""
    if runner.transfer_syntax == uid.JPEGExtended12Bit and runner.samples_per_pixel != 1:
        # Colour lossy JPEG carries YBR conversions that pydicom's Pillow plugin handles.
        raise ValueError("colour JPEG Extended is left to the Pillow plugin")
    array = np.asarray(_DECODERS[runner.transfer_syntax](src))
    if array.ndim == 3:
        runner.set_option("planar_configuration", 0)
    runner.set_option("bits_allocated", array.dtype.itemsize * 8)
    return array.tobytes()


def register() -> None:
    """Add this plugin to pydicom's decoders once (later calls do nothing)."""
    for syntax in _DECODERS:
        decoder = get_decoder(syntax)
        if LABEL not in decoder.available_plugins:
            decoder.add_plugin(LABEL, (__name__, "decode_frame"))
