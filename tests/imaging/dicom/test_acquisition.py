"""Grouping by acquisition (Google's keys), MR min-max over a series, separate images."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from bot.imaging import DecodedFile, ImagingOptions, Intensity, Layout, assemble, decode
from tests.imaging import google_recipe as google
from tests.imaging.helpers import (
    DEFAULT,
    NATIVE,
    ct_slices,
    dicom_bytes,
    localizer,
    mr_slices,
    options,
    parse,
    sample,
)


def _zip(files: list[bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for index, data in enumerate(files):
            zipped.writestr(f"study/{index:04d}.dcm", data)
    return buffer.getvalue()


def _means(decoded: DecodedFile) -> list[float]:
    return [float(np.asarray(image.image).mean()) for image in decoded.images]


def _google_largest(files: list[bytes]) -> list[int]:
    """Instance numbers of Google's largest acquisition, files in instance order."""
    datasets = sorted((parse(f) for f in files), key=lambda ds: int(ds.InstanceNumber))
    largest = max(google.acquisitions(datasets), key=len)
    return sorted(int(datasets[i].InstanceNumber) for i in largest)


@pytest.mark.parametrize("sagittal", [True, False])
def test_localizers_in_the_series_are_left_out_of_the_volume(sagittal: bool) -> None:
    # Google's ImageType key tells them apart even when they share the axial orientation.
    axial = ct_slices(10)
    files = [*axial, *(localizer(axial[i], number=i, sagittal=sagittal) for i in range(3))]
    assert _google_largest(files) == list(range(1, 11))
    decoded = decode(_zip(files), options=DEFAULT)
    assert decoded.layout is Layout.VOLUME and decoded.total_slices == 10
    assert decoded.skipped_series == 1  # the localizers, one acquisition of their own
    means = _means(decoded)
    assert means == sorted(means) and len(set(means)) == 10  # only the axial slices


def test_a_reformat_with_the_same_image_type_is_split_by_orientation() -> None:
    # Beyond Google's keys: a coronal reformat stored in the axial series, same ImageType.
    axial = ct_slices(6)
    coronal = []
    for index in range(4):
        ds = parse(axial[index])
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]
        ds.InstanceNumber = 50 + index
        coronal.append(dicom_bytes(ds))
    assert len(_google_largest([*axial, *coronal])) == 10  # Google would mix them
    decoded = decode(_zip([*axial, *coronal]), options=DEFAULT)
    assert decoded.total_slices == 6 and decoded.skipped_series == 1


def _renumbered(files: list[bytes], *, acquisition: int, shift: float = 0.0) -> list[bytes]:
    out = []
    for data in files:
        ds = parse(data)
        ds.AcquisitionNumber = acquisition
        ds.InstanceNumber = int(ds.InstanceNumber) + 100 * acquisition
        ds.ImagePositionPatient = [0.0, 0.0, float(ds.ImagePositionPatient[2]) + shift]
        out.append(dicom_bytes(ds))
    return out


def test_repeated_acquisitions_of_the_same_positions_are_split() -> None:
    first = _renumbered(ct_slices(5, seed=1), acquisition=1)
    second = _renumbered(ct_slices(4, seed=2), acquisition=2)  # same positions again
    decoded = decode(_zip([*first, *second]), options=DEFAULT)
    assert decoded.total_slices == 5 and decoded.skipped_series == 1


def test_a_volume_acquired_in_passes_stays_one_volume() -> None:
    # Sequential CT may number each pass; the passes fill different positions.
    first = _renumbered(ct_slices(5, seed=1), acquisition=1)
    second = _renumbered(ct_slices(5, seed=2), acquisition=2, shift=100.0)
    decoded = decode(_zip([*first, *second]), options=DEFAULT)
    assert decoded.total_slices == 10 and decoded.skipped_series == 0


def _mr_reference(files: list[bytes]) -> list[np.ndarray]:
    datasets = sorted((parse(f) for f in files), key=lambda ds: int(ds.InstanceNumber))
    return google.mr_volume([ds.pixel_array for ds in datasets])


def _grey(decoded: DecodedFile) -> list[np.ndarray]:
    return [np.asarray(image.image)[..., 0] for image in decoded.images]


def test_mr_zip_one_min_max_over_the_acquisition() -> None:
    files = mr_slices(6)
    decoded = decode(_zip(files), options=NATIVE)
    assert decoded.intensity is Intensity.MIN_MAX and decoded.layout is Layout.VOLUME
    for ours, theirs in zip(_grey(decoded), _mr_reference(files), strict=True):
        assert np.array_equal(ours, theirs)


def test_mr_zip_sampled_slices_keep_the_range_of_all_slices() -> None:
    files = mr_slices(9)
    decoded = decode(
        _zip(files), options=options(model_side=4096, pad_to_square=False, max_slices=3)
    )
    reference = _mr_reference(files)
    for ours, index in zip(_grey(decoded), [0, 4, 8], strict=True):
        assert np.array_equal(ours, reference[index])


@pytest.mark.parametrize(("chosen", "worst"), [(NATIVE, 0), (DEFAULT, 2)])
def test_mr_slices_shared_one_by_one_are_mapped_together(
    chosen: ImagingOptions, worst: int
) -> None:
    files = mr_slices(6, seed=4)
    (volume,) = assemble([decode(f, options=chosen) for f in files], options=chosen)
    assert volume.layout is Layout.VOLUME and volume.total_slices == 6
    reference = decode(_zip(files), options=chosen)
    for ours, theirs in zip(_grey(volume), _grey(reference), strict=True):
        # Shrunk to 896 and padded (DEFAULT), values are resampled before the mapping here.
        assert np.abs(ours.astype(int) - theirs).max() <= worst
    means = [float(g.mean()) for g in _grey(volume)]
    assert means == sorted(means)  # slice i is brighter than slice i - 1, as in the data


def test_radiograph_views_in_a_zip_are_separate_images() -> None:
    views = []
    for index in range(2):
        ds = parse(sample("RG1_UNCI.dcm"))
        ds.InstanceNumber = index + 1
        views.append(dicom_bytes(ds))
    decoded = decode(_zip(views), options=DEFAULT)
    assert decoded.layout is Layout.IMAGES and decoded.kind == "radiograph"
    assert decoded.intensity is Intensity.FILE_WINDOW and not decoded.is_series
    assert [image.label for image in decoded.images] == ["IMAGE 1", "IMAGE 2"]


def test_radiographs_shared_one_by_one_are_not_a_volume() -> None:
    files = [decode(sample("RG1_UNCI.dcm"), options=DEFAULT) for _ in range(2)]
    assert assemble(files, options=DEFAULT) == files


def test_loose_localizer_stays_beside_the_volume() -> None:
    axial = ct_slices(4)
    files = [decode(f, options=DEFAULT) for f in [*axial, localizer(axial[0], number=0)]]
    result = assemble(files, options=DEFAULT)
    assert [(file.layout, file.total_slices) for file in result] == [
        (Layout.VOLUME, 4),
        (Layout.SINGLE, 1),
    ]
