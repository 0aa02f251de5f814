"""Photos: every Pillow format we accept, orientation, transparency, depth, bombs."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pillow_heif
import pytest
import skimage.data
from PIL import Image

from bot.errors import CorruptImage, ImageTooLarge
from bot.imaging import decode
from tests.imaging.helpers import DEFAULT, NATIVE, encode, options, pixels

RETINA = np.asarray(Image.fromarray(skimage.data.retina()).resize((600, 600)))


def _mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def _heic(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(array)).save(buffer, format="HEIF", quality=95)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "params", "tolerance"),
    [
        ("PNG", {}, 0.0),
        ("BMP", {}, 0.0),
        ("TIFF", {}, 0.0),
        ("TIFF", {"compression": "tiff_lzw"}, 0.0),
        ("WEBP", {"lossless": True}, 0.0),
        ("WEBP", {"quality": 90}, 4.0),
        ("JPEG", {"quality": 95}, 3.0),
        ("GIF", {}, 8.0),
        ("AVIF", {"quality": 90}, 5.0),
    ],
)
def test_formats_round_trip(fmt: str, params: dict[str, object], tolerance: float) -> None:
    decoded = decode(encode(RETINA, fmt, **params), options=NATIVE)
    assert decoded.kind == "photo"
    assert decoded.source_format == fmt.lower()
    assert decoded.specialty is None
    assert len(decoded.images) == 1 and decoded.images[0].label is None
    assert _mean_difference(pixels(decoded), RETINA) <= tolerance


def test_heic_encoded_with_pillow_heif() -> None:
    decoded = decode(_heic(RETINA), options=NATIVE)
    assert decoded.source_format == "heic"
    assert _mean_difference(pixels(decoded), RETINA) <= 5.0


def test_resized_to_model_side_and_padded_square() -> None:
    wide = np.zeros((900, 1800, 3), dtype=np.uint8)
    wide[...] = (200, 120, 40)
    out = pixels(decode(encode(wide, "PNG"), options=DEFAULT))
    assert out.shape == (896, 896, 3)
    # 1800 x 900 shrinks to 896 x 448, centred: 224 black rows above and below.
    assert (out[:220] == 0).all() and (out[-220:] == 0).all()
    assert np.abs(out[230:666].astype(int) - (200, 120, 40)).max() <= 1


def test_no_padding_keeps_aspect_ratio() -> None:
    wide = np.full((900, 1800, 3), 90, dtype=np.uint8)
    narrow = options(pad_to_square=False)
    assert decode(encode(wide, "PNG"), options=narrow).images[0].image.size == (896, 448)


def test_small_images_are_never_enlarged() -> None:
    small = np.full((60, 100, 3), 77, dtype=np.uint8)
    out = pixels(decode(encode(small, "PNG"), options=DEFAULT))
    assert out.shape == (100, 100, 3)
    assert (out[:20] == 0).all() and (out[20:80] == 77).all() and (out[80:] == 0).all()


def test_exif_orientation_is_applied() -> None:
    # Stored landscape: left half red, right half blue. Orientation 6 means "rotate 90
    # degrees clockwise to display", which puts the left half on top.
    stored = np.zeros((200, 300, 3), dtype=np.uint8)
    stored[:, :150] = (255, 0, 0)
    stored[:, 150:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    out = pixels(decode(data, options=NATIVE))
    assert out.shape == (300, 200, 3)
    assert out[40, 100, 0] > 200 and out[40, 100, 2] < 60  # top: red
    assert out[260, 100, 2] > 200 and out[260, 100, 0] < 60  # bottom: blue


def test_transparency_is_composited_on_white() -> None:
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[:, 20:] = (255, 0, 0, 128)  # right half: half-transparent red
    out = pixels(decode(encode(rgba, "PNG"), options=NATIVE))
    assert (out[:, :20] == 255).all()  # fully transparent -> white
    assert np.abs(out[5, 30].astype(int) - (255, 127, 127)).max() <= 2


def test_grey_with_alpha_is_composited_on_white() -> None:
    image = Image.new("LA", (10, 10), (0, 0))
    assert (pixels(decode(encode(image, "PNG"), options=NATIVE)) == 255).all()


def test_palette_with_transparent_index() -> None:
    image = Image.new("P", (16, 16), 1)
    image.putpalette([0, 0, 0, 10, 200, 30] + [0, 0, 0] * 254)
    image.paste(0, (0, 0, 8, 16))
    out = pixels(decode(encode(image, "PNG", transparency=0), options=NATIVE))
    assert (out[:, :8] == 255).all()
    assert (out[:, 8:] == (10, 200, 30)).all()


def test_16_bit_grey_png_uses_its_own_range() -> None:
    # 12-bit values in a 16-bit PNG: dividing by 256 would leave the image nearly black.
    ramp = np.tile(np.linspace(0, 4095, 256).astype(np.uint16), (8, 1))
    out = pixels(decode(encode(Image.fromarray(ramp), "PNG"), options=NATIVE))
    row = out[4, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert (np.diff(row) >= 0).all()
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_cmyk_jpeg_becomes_rgb() -> None:
    image = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # red in CMYK
    out = pixels(decode(encode(image, "JPEG", quality=95), options=NATIVE))
    assert out[16, 16, 0] > 200 and out[16, 16, 1] < 60 and out[16, 16, 2] < 60


def test_gif_first_frame_only() -> None:
    red = Image.new("RGB", (20, 20), (255, 0, 0))
    blue = Image.new("RGB", (20, 20), (0, 0, 255))
    buffer = io.BytesIO()
    red.save(buffer, format="GIF", save_all=True, append_images=[blue], duration=100)
    out = pixels(decode(buffer.getvalue(), options=NATIVE))
    assert (out == (255, 0, 0)).all()


def test_metadata_is_dropped() -> None:
    exif = Image.Exif()
    exif[0x010E] = "Jane Doe, MRN 123456"  # ImageDescription
    exif[0x0112] = 1
    data = encode(RETINA, "JPEG", exif=exif.tobytes(), icc_profile=b"\x00" * 128)
    image = decode(data, options=DEFAULT).images[0].image
    assert image.info == {}
    assert len(image.getexif()) == 0


def test_big_jpeg_is_decoded_at_reduced_scale() -> None:
    big = np.zeros((3000, 4000, 3), dtype=np.uint8)
    big[:, :2000] = (250, 250, 250)
    out = pixels(decode(encode(big, "JPEG", quality=90), options=DEFAULT))
    assert out.shape == (896, 896, 3)
    assert out[448, 100].min() > 230 and out[448, 800].max() < 25


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims the given size (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [50_000, 12_000, 9_500])
def test_decompression_bomb_is_refused_from_the_header(side: int) -> None:
    data = _png_header_only(side, side)
    assert len(data) < 200
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ImageTooLarge):
            decode(data, options=options(max_pixels=10**12))
    assert seen == []


def test_pixel_cap_from_options() -> None:
    data = encode(np.zeros((200, 200, 3), dtype=np.uint8), "PNG")
    with pytest.raises(ImageTooLarge):
        decode(data, options=options(max_pixels=200 * 200 - 1))
    assert decode(data, options=options(max_pixels=200 * 200)).images


def test_gif_screen_bomb() -> None:
    screen = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    one_pixel = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    data = screen + one_pixel + b";"
    with pytest.raises(ImageTooLarge):
        decode(data, options=DEFAULT)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF"])
def test_truncated_file_is_corrupt(fmt: str) -> None:
    data = encode(RETINA, fmt)
    with pytest.raises(CorruptImage) as caught:
        decode(data[: len(data) // 2], options=DEFAULT)
    assert fmt.lower() in caught.value.detail
