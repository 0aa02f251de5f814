"""Shared helpers for the imaging tests: real files from PyPI packages, encoders."""

from __future__ import annotations

import copy
import dataclasses
import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from bot.imaging import DecodedFile, ImagingOptions
from bot.pipeline.file_loader import imaging_options
from bot.settings import Settings


def options(**overrides: Any) -> ImagingOptions:
    """The shipped imaging options (from the settings' defaults), with `overrides`."""
    return dataclasses.replace(imaging_options(Settings()), **overrides)


DEFAULT = options()
# Large side and no padding: the output keeps the file's own pixel grid for comparisons.
NATIVE = options(model_side=4096, pad_to_square=False)
SERIES_UID = "1.2.826.0.1.3680043.8.498.1234567890"


def sample_path(name: str) -> Path:
    """A file shipped with pydicom or pydicom-data (both installed, no download)."""
    path = get_testdata_file(name)
    assert path is not None, f"{name} is not available offline"
    return Path(str(path))


def sample(name: str) -> bytes:
    """The bytes of a pydicom test file."""
    return sample_path(name).read_bytes()


def sample_dataset(name: str) -> Dataset:
    """A pydicom test file, parsed."""
    return pydicom.dcmread(sample_path(name))


def parse(data: bytes) -> Dataset:
    """Parse DICOM bytes made by a test."""
    return pydicom.dcmread(io.BytesIO(data))


def dicom_bytes(ds: Dataset, *, preamble: bool = True) -> bytes:
    """Serialise a data set; with preamble=False only the bare explicit-VR data set."""
    if preamble:
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()
    bare = DicomBytesIO()
    bare.is_little_endian, bare.is_implicit_VR = True, False
    write_dataset(bare, ds)
    return bare.getvalue()


def encode(image: Image.Image | np.ndarray, fmt: str, **params: Any) -> bytes:
    """Encode an image or array with Pillow into the given format."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def pixels(decoded: DecodedFile, index: int = 0) -> np.ndarray:
    """The RGB pixels of one output image as a uint8 array."""
    image = decoded.images[index].image
    assert image.mode == "RGB"
    return np.asarray(image)


def ct_slices(count: int, *, uid: str = SERIES_UID, seed: int = 0) -> list[bytes]:
    """`count` copies of CT_small in one series, each brighter than the last, shuffled.

    Slice i has InstanceNumber i + 1, sits at z = 2.5 * i and has 20 * i HU added, so
    the order of a decoded series shows in its mean brightness.
    """
    base = sample_dataset("CT_small.dcm")
    raw = base.pixel_array.astype(np.int32)
    slope = float(base.RescaleSlope)
    files = []
    for i in range(count):
        ds = copy.deepcopy(base)
        ds.SeriesInstanceUID = uid
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [0.0, 0.0, 2.5 * i]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        shifted = raw + round(20 * i / slope)
        ds.PixelData = np.clip(shifted, -32768, 32767).astype(np.int16).tobytes()
        files.append(dicom_bytes(ds))
    random.Random(seed).shuffle(files)
    return files


def mr_slices(count: int, *, uid: str = SERIES_UID, seed: int = 0) -> list[bytes]:
    """`count` copies of MR_small in one series, slice i scaled by (1 + i / 2), shuffled.

    A per-slice stretch makes every slice look alike; one stretch over the acquisition
    keeps slice i brighter than slice i - 1.
    """
    base = sample_dataset("MR_small.dcm")
    raw = base.pixel_array.astype(np.float64)
    files = []
    for i in range(count):
        ds = copy.deepcopy(base)
        ds.SeriesInstanceUID = uid
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [0.0, 0.0, 5.0 * i]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelData = np.rint(raw * (1 + i / 2)).astype(np.int16).tobytes()
        files.append(dicom_bytes(ds))
    random.Random(seed).shuffle(files)
    return files


def localizer(data: bytes, *, number: int, sagittal: bool = True) -> bytes:
    """A slice turned into a localizer of the same series (as scanners write them)."""
    ds = parse(data)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    if sagittal:
        ds.ImageOrientationPatient = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
        ds.ImagePositionPatient = [float(number), 0.0, 0.0]
    else:
        ds.ImagePositionPatient = [0.0, 0.0, -100.0 - number]
    ds.InstanceNumber = 100 + number
    return dicom_bytes(ds)
