"""Every decode within its budget, checked before the work: the attack files of issue 18.

Memory is measured with tracemalloc (numpy arrays and Python bytes; Pillow's own image
memory is not traced), never with a clock.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from bot.errors import DecodeBudgetExceeded
from bot.imaging import DecodedFile, ImagingOptions, decode
from bot.imaging.budget import Allowance, DecodeBudget
from bot.imaging.dicom import pixels as pixels_module
from tests.imaging import attacks
from tests.imaging.helpers import (
    DEFAULT,
    NATIVE,
    ct_slices,
    dicom_bytes,
    options,
    pixels,
    sample,
    sample_dataset,
)

MB = 2**20


def traced_peak(work: Callable[[], Any]) -> tuple[int, Any]:
    """The most memory numpy and Python held at once during `work()`, and its result."""
    tracemalloc.start()
    try:
        result = work()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def within(file_pixels: int) -> ImagingOptions:
    return dataclasses.replace(DEFAULT, budget=DecodeBudget(file_pixels=file_pixels))


def count_frame_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    decoded: list[int] = []
    real = pixels_module.pixel_array

    def counting(dataset: Dataset, *, index: int) -> np.ndarray:
        decoded.append(index)
        return real(dataset, index=index)

    monkeypatch.setattr(pixels_module, "pixel_array", counting)
    return decoded


# -- Deflated DICOM: inflated under a cap, before pydicom parses -----------------------------


def test_a_deflate_bomb_is_refused_having_cost_a_few_megabytes() -> None:
    bomb = attacks.deflate_bomb()  # 1 MB that pydicom would inflate to 1 GiB
    assert len(bomb) < 2 * MB
    peak, _ = traced_peak(lambda: _refused(bomb))
    assert peak < 32 * MB  # pydicom's own inflation held 1 GiB (and 2 GiB at its peak)


def test_a_deflate_bomb_stored_in_a_zip_is_refused() -> None:
    data = attacks.deflate_bomb_zip()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        [entry] = archive.infolist()
        assert entry.compress_size == entry.file_size  # the zip's ratio check sees 1:1
    peak, _ = traced_peak(lambda: _refused(data))
    assert peak < 32 * MB


def test_a_deflated_file_within_its_budget_decodes_as_pydicom_reads_it() -> None:
    ds = sample_dataset("image_dfl.dcm")
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1.99"
    plain = copy.deepcopy(ds)
    plain.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    expected = decode(dicom_bytes(plain), options=NATIVE)
    decoded = decode(sample("image_dfl.dcm"), options=NATIVE)
    assert np.array_equal(pixels(decoded), pixels(expected))
    assert decoded.modality == expected.modality and decoded.kind == expected.kind


def test_the_inflation_cap_is_the_budgets() -> None:
    data = sample("image_dfl.dcm")
    inflated = len(pydicom.dcmread(io.BytesIO(data)).PixelData)
    tight = dataclasses.replace(DEFAULT, budget=DecodeBudget(inflated_bytes=inflated - 1))
    with pytest.raises(DecodeBudgetExceeded):
        decode(data, options=tight)


def _refused(data: bytes) -> None:
    with pytest.raises(DecodeBudgetExceeded):
        decode(data, options=DEFAULT)


# -- High-depth images: no whole-image float64 copies ----------------------------------------


def test_a_16_bit_png_costs_a_few_bytes_a_pixel_not_forty() -> None:
    side = 4000
    peak, decoded = traced_peak(lambda: decode(attacks.deep_png(side, side), options=DEFAULT))
    # The 8-bit result (1 byte a pixel) and strips of a megapixel; whole-image float64
    # copies while stretching took 8 bytes a pixel each, about 40 in all.
    assert peak < 4 * side * side
    ramp = pixels(decoded)[448, :, 0].astype(int)
    assert ramp[0] < 5 and ramp[-1] > 250 and (np.diff(ramp) >= 0).all()


def test_a_16_bit_dicom_frame_costs_a_few_bytes_a_pixel() -> None:
    ds = copy.deepcopy(sample_dataset("CT_small.dcm"))
    side = 3000
    ds.Rows = ds.Columns = side
    ds.PixelData = (np.arange(side * side) % 2000 - 1000).astype(np.int16).tobytes()
    data = dicom_bytes(ds)
    peak, decoded = traced_peak(lambda: decode(data, options=DEFAULT))
    # Stored values twice (the data set's and the decoded array: 4), the RGB windows (3),
    # strips. Float64 Hounsfield units and their windows took over 40.
    assert peak < 12 * side * side
    assert decoded.images[0].image.size == (896, 896)


# -- Frames: sampled before anything is decoded, within the file's pixels ---------------------


def test_a_frame_bomb_decodes_only_the_frames_its_pixel_budget_pays_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded_frames = count_frame_decodes(monkeypatch)
    bomb = attacks.frame_bomb(frames=300, side=1000)  # 1 MP frames
    decoded = decode(bomb, options=within(10_000_000))
    assert decoded.total_slices == 300 and len(decoded.images) == 10
    assert len(decoded_frames) == 10  # each chosen frame once; none for the range
    assert min(decoded_frames) == 0 and max(decoded_frames) == 299


def test_the_shipped_budget_thins_the_6000_pixel_frame_bomb_to_five_frames() -> None:
    allowance = Allowance(DecodeBudget())
    # 300 frames of 36 MP: 85 would be sampled; 200 MP pays for five.
    assert allowance.frames(85, frame_pixels=6000 * 6000) == 5


def test_a_frame_over_what_is_left_is_refused() -> None:
    with pytest.raises(DecodeBudgetExceeded):
        decode(sample("CT_small.dcm"), options=within(128 * 128 - 1))
    assert decode(sample("CT_small.dcm"), options=within(128 * 128)).images


def test_a_zipped_series_is_sampled_within_its_pixel_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n, data in enumerate(ct_slices(20)):
            archive.writestr(f"IM{n:04d}.dcm", data)
    decoded_frames = count_frame_decodes(monkeypatch)
    decoded: DecodedFile = decode(buffer.getvalue(), options=within(5 * 128 * 128))
    assert decoded.total_slices == 20 and len(decoded.images) == 5
    assert len(decoded_frames) == 5


def test_the_budgets_stated_defaults_are_what_the_shipped_settings_make() -> None:
    assert options().budget == DecodeBudget()  # options() builds from Settings()
