"""Several DICOM slices in one message: grouping, order, sampling, labels."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.imaging import DecodedFile, ImagingOptions, PrivacyFlag, Specialty, assemble, decode
from bot.imaging.series import sample_indices
from tests.imaging.helpers import (
    DEFAULT,
    ct_slices,
    dicom_bytes,
    encode,
    parse,
    sample,
    sample_dataset,
)


def _means(decoded: DecodedFile) -> list[float]:
    return [float(np.asarray(image.image).mean()) for image in decoded.images]


def _decode_all(files: list[bytes], options: ImagingOptions = DEFAULT) -> list[DecodedFile]:
    return [decode(data, options=options) for data in files]


def test_slices_are_merged_in_instance_order() -> None:
    files = _decode_all(ct_slices(12, seed=3))
    (series,) = assemble(files, options=DEFAULT)
    assert series.is_series and series.kind == "series"
    assert series.modality == "CT" and series.specialty is Specialty.RADIOLOGIST
    assert series.total_slices == 12 and len(series.images) == 12
    assert [image.label for image in series.images] == [f"SLICE {i}" for i in range(1, 13)]
    means = _means(series)
    assert means == sorted(means) and len(set(means)) == 12


def test_position_orders_slices_without_instance_numbers() -> None:
    files = []
    for data in ct_slices(6, seed=5):
        ds = parse(data)
        del ds.InstanceNumber
        files.append(decode(dicom_bytes(ds), options=DEFAULT))
    (series,) = assemble(files, options=DEFAULT)
    means = _means(series)
    assert means == sorted(means)


def test_large_series_sampled_to_max_slices_keeping_ends() -> None:
    files = _decode_all(ct_slices(100, seed=7))
    ordered = sorted(files, key=lambda file: file.sort_key)
    (series,) = assemble(files, options=DEFAULT)
    assert series.total_slices == 100 and len(series.images) == 85
    assert series.images[-1].label == "SLICE 85"
    first, last = ordered[0].images[0].image, ordered[-1].images[0].image
    assert np.array_equal(np.asarray(series.images[0].image), np.asarray(first))
    assert np.array_equal(np.asarray(series.images[-1].image), np.asarray(last))
    means = _means(series)
    assert means == sorted(means)


def test_other_files_pass_through_in_order() -> None:
    photo = decode(encode(np.zeros((8, 8, 3), dtype=np.uint8), "PNG"), options=DEFAULT)
    slices = _decode_all(ct_slices(3, seed=1))
    lone = decode(sample("MR_small.dcm"), options=DEFAULT)
    result = assemble([photo, slices[0], lone, slices[1], slices[2]], options=DEFAULT)
    assert [file.kind for file in result] == ["photo", "series", "mri"]
    assert result[0] is photo and result[2] is lone
    assert result[1].total_slices == 3


def test_two_series_stay_apart() -> None:
    first = _decode_all(ct_slices(3, uid="1.2.3.4.1", seed=1))
    second = _decode_all(ct_slices(4, uid="1.2.3.4.2", seed=2))
    result = assemble([*first, *second], options=DEFAULT)
    assert [file.total_slices for file in result] == [3, 4]
    assert result[0].series_key != result[1].series_key


def test_single_slice_of_a_series_is_left_alone() -> None:
    (only,) = _decode_all(ct_slices(1))
    assert assemble([only], options=DEFAULT) == [only]


def test_privacy_flags_are_unioned() -> None:
    files = []
    for index, data in enumerate(ct_slices(3)):
        ds = parse(data)
        for keyword in ("PatientName", "PatientID", "PatientBirthDate"):
            setattr(ds, keyword, "")
        if index == 1:
            ds.BurnedInAnnotation = "YES"
        files.append(decode(dicom_bytes(ds), options=DEFAULT))
    (series,) = assemble(files, options=DEFAULT)
    assert series.privacy_flags == {PrivacyFlag.BURNED_IN_ANNOTATION}


def test_mixed_modalities_in_one_series_stay_apart() -> None:
    # Modality is one of the keys of an acquisition (as in Google's server).
    files = []
    for index, data in enumerate(ct_slices(4)):
        ds = parse(data)
        ds.Modality = "CT" if index % 2 else "PT"
        files.append(decode(dicom_bytes(ds), options=DEFAULT))
    result = assemble(files, options=DEFAULT)
    assert [(file.modality, file.total_slices) for file in result] == [("PT", 2), ("CT", 2)]


def test_series_key_is_an_opaque_hash() -> None:
    ds = copy.deepcopy(sample_dataset("CT_small.dcm"))
    decoded = decode(dicom_bytes(ds), options=DEFAULT)
    uid = str(ds.SeriesInstanceUID)
    assert decoded.series_key is not None
    assert uid not in decoded.series_key and uid not in repr(decoded)
    assert all(ch in "0123456789abcdef" for ch in decoded.series_key)


def test_series_key_falls_back_to_study_and_series_number() -> None:
    ds = copy.deepcopy(sample_dataset("CT_small.dcm"))
    del ds.SeriesInstanceUID
    one = decode(dicom_bytes(ds), options=DEFAULT).series_key
    ds.SeriesNumber = 99
    other = decode(dicom_bytes(ds), options=DEFAULT).series_key
    assert one is not None and other is not None and one != other
    del ds.StudyInstanceUID
    assert decode(dicom_bytes(ds), options=DEFAULT).series_key is None


def test_sort_key_projects_position_on_the_slice_normal() -> None:
    ds = copy.deepcopy(sample_dataset("CT_small.dcm"))
    ds.InstanceNumber = 7
    ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]  # sagittal: normal along -x
    ds.ImagePositionPatient = [12.5, -3.0, 40.0]
    assert decode(dicom_bytes(ds), options=DEFAULT).sort_key == (7.0, -12.5)
    del ds.InstanceNumber
    del ds.ImagePositionPatient
    assert decode(dicom_bytes(ds), options=DEFAULT).sort_key == (float("inf"), float("inf"))


@settings(max_examples=200, deadline=None)
@given(count=st.integers(0, 2000), limit=st.integers(1, 200))
def test_sample_indices_properties(count: int, limit: int) -> None:
    indices = sample_indices(count, limit)
    assert len(indices) == min(count, limit)
    assert indices == sorted(set(indices))
    if count and limit >= 2:
        assert indices[0] == 0 and indices[-1] == count - 1
    if count >= 2 and limit >= 2:
        gaps = np.diff(indices)
        assert gaps.max() - gaps.min() <= 1  # evenly spread


@pytest.mark.parametrize(
    ("count", "limit", "expected"),
    [(10, 4, [0, 3, 6, 9]), (5, 85, [0, 1, 2, 3, 4]), (3, 2, [0, 2])],
)
def test_sample_indices_examples(count: int, limit: int, expected: list[int]) -> None:
    assert sample_indices(count, limit) == expected
