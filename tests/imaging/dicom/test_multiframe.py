"""Multi-frame DICOM: Enhanced CT/MR functional groups, frame order, volumes, cine, dose grids."""

from __future__ import annotations

import copy

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from bot.imaging import Intensity, Layout, Specialty, decode
from bot.imaging.dicom import pixels as pixels_module
from bot.imaging.dicom.layout import frame_order, layout_of
from tests.imaging import google_recipe as google
from tests.imaging.helpers import NATIVE, dicom_bytes, options, sample, sample_dataset


def _rgb(decoded: object) -> list[np.ndarray]:
    return [np.asarray(image.image) for image in decoded.images]  # type: ignore[attr-defined]


def _enhanced_ct_reference(ds: Dataset) -> list[np.ndarray]:
    """Notebook windows on Hounsfield units from each frame's functional group, in plane order."""
    stored = ds.pixel_array
    order = sorted(range(len(stored)), key=lambda i: google.frame_position(ds, i))
    return [google.ct_window(google.enhanced_rescale(ds, i, stored[i])) for i in order]


def test_enhanced_ct_rescale_from_functional_groups_in_plane_order() -> None:
    ds = sample_dataset("eCT_Supplemental.dcm")
    assert "RescaleIntercept" not in ds  # only in the functional groups
    decoded = decode(sample("eCT_Supplemental.dcm"), options=NATIVE)
    assert decoded.layout is Layout.VOLUME and decoded.intensity is Intensity.CT_WINDOWS
    assert decoded.kind == "series" and decoded.modality == "CT"
    assert [image.label for image in decoded.images] == ["SLICE 1", "SLICE 2"]
    for ours, theirs in zip(_rgb(decoded), _enhanced_ct_reference(ds), strict=True):
        assert np.array_equal(ours, theirs)


def test_enhanced_ct_frame_order_follows_the_plane_not_the_file() -> None:
    ds = sample_dataset("eCT_Supplemental.dcm")
    # The file stores the lower slice (z = -159, projected 159 on the normal) first.
    assert google.frame_position(ds, 0) > google.frame_position(ds, 1)
    assert frame_order(ds, layout=Layout.VOLUME, frames=2) == [1, 0]


def test_per_frame_rescale_overrides_the_shared_one() -> None:
    ds = copy.deepcopy(sample_dataset("eCT_Supplemental.dcm"))
    own = Dataset()
    own.RescaleSlope, own.RescaleIntercept, own.RescaleType = 2, -2048, "HU"
    ds.PerFrameFunctionalGroupsSequence[0].PixelValueTransformationSequence = [own]
    decoded = decode(dicom_bytes(ds), options=NATIVE)
    for ours, theirs in zip(_rgb(decoded), _enhanced_ct_reference(ds), strict=True):
        assert np.array_equal(ours, theirs)


def test_per_frame_window_from_frame_voi_lut() -> None:
    # An Enhanced PET-like object: the file's window applies, and each frame has its own.
    ds = copy.deepcopy(sample_dataset("eCT_Supplemental.dcm"))
    ds.Modality = "PT"
    for frame, (center, width) in zip(
        ds.PerFrameFunctionalGroupsSequence, [(40, 80), (300, 1500)], strict=True
    ):
        voi = Dataset()
        voi.WindowCenter, voi.WindowWidth = center, width
        frame.FrameVOILUTSequence = [voi]
    stored = ds.pixel_array
    order = [1, 0]  # plane order, as above
    expected = [
        google.window_accurate(
            google.enhanced_rescale(ds, i, stored[i]), *google.enhanced_window(ds, i)
        )
        for i in order
    ]
    decoded = decode(dicom_bytes(ds), options=NATIVE)
    assert decoded.intensity is Intensity.FILE_WINDOW and decoded.layout is Layout.VOLUME
    for ours, theirs in zip(_rgb(decoded), expected, strict=True):
        assert np.array_equal(ours[..., 0], theirs)


def test_enhanced_mr_one_min_max_over_all_frames() -> None:
    ds = sample_dataset("emri_small.dcm")
    expected = google.mr_volume(list(ds.pixel_array))
    decoded = decode(sample("emri_small.dcm"), options=NATIVE)
    assert decoded.is_series and decoded.kind == "series" and decoded.layout is Layout.VOLUME
    assert decoded.modality == "MR" and decoded.specialty is Specialty.RADIOLOGIST
    assert decoded.intensity is Intensity.MIN_MAX and decoded.is_image_set
    assert [image.label for image in decoded.images] == [f"SLICE {i}" for i in range(1, 11)]
    for ours, theirs in zip(_rgb(decoded), expected, strict=True):
        assert np.array_equal(ours[..., 0], theirs)


def test_only_the_sampled_frames_are_decoded_and_share_their_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Frames are sampled before the range is computed: a 300-frame file costs what the
    # model gets, not 300 decodes for a range and the chosen ones again.
    decoded_frames: list[int] = []
    real = pixels_module.pixel_array

    def counting(dataset: Dataset, *, index: int) -> np.ndarray:
        decoded_frames.append(index)
        return real(dataset, index=index)

    monkeypatch.setattr(pixels_module, "pixel_array", counting)
    ds = sample_dataset("emri_small.dcm")
    expected = google.mr_volume([ds.pixel_array[i] for i in (0, 3, 6, 9)])
    decoded = decode(sample("emri_small.dcm"), options=options(max_slices=4, model_side=4096))
    assert decoded.total_slices == 10 and len(decoded.images) == 4
    assert [image.label for image in decoded.images] == ["SLICE 1", "SLICE 2", "SLICE 3", "SLICE 4"]
    assert sorted(decoded_frames) == [0, 3, 6, 9]
    for ours, theirs in zip(_rgb(decoded), expected, strict=True):
        assert np.array_equal(ours[..., 0], theirs)


def test_multi_frame_compressed_matches_uncompressed() -> None:
    reference = decode(sample("emri_small.dcm"), options=NATIVE)
    for name in ("emri_small_RLE.dcm", "emri_small_jpeg_ls_lossless.dcm"):
        decoded = decode(sample(name), options=NATIVE)
        for ours, theirs in zip(decoded.images, reference.images, strict=True):
            assert np.array_equal(np.asarray(ours.image), np.asarray(theirs.image))


def test_ultrasound_cine_is_frames_in_time_order() -> None:
    ds = sample_dataset("examples_ybr_color.dcm")
    decoded = decode(sample("examples_ybr_color.dcm"), options=NATIVE)
    assert decoded.layout is Layout.CINE and decoded.kind == "frames"
    assert not decoded.is_series and decoded.is_image_set
    assert decoded.intensity is Intensity.COLOUR and decoded.total_slices == 30
    assert [image.label for image in decoded.images] == [f"FRAME {i}" for i in range(1, 31)]
    # Frames as stored (pydicom's YBR -> RGB), in file order, which is time order.
    for ours, theirs in zip(_rgb(decoded), ds.pixel_array, strict=True):
        assert np.array_equal(ours, theirs)


def test_rt_dose_grid_is_dose_planes_with_one_range() -> None:
    ds = copy.deepcopy(sample_dataset("rtdose.dcm"))
    offsets = [float(v) for v in ds.GridFrameOffsetVector]
    ds.GridFrameOffsetVector = list(reversed(offsets))  # stored top plane first
    stored = ds.pixel_array
    order = sorted(range(len(offsets)), key=lambda i: float(ds.GridFrameOffsetVector[i]))
    expected = google.mr_volume([stored[i] for i in order])
    decoded = decode(dicom_bytes(ds), options=NATIVE)
    assert decoded.layout is Layout.DOSE and decoded.kind == "frames"
    assert decoded.intensity is Intensity.MIN_MAX
    assert decoded.images[0].label == "PLANE 1"
    for ours, theirs in zip(_rgb(decoded), expected, strict=True):
        assert np.array_equal(ours[..., 0], theirs)


def _enhanced(modality: str, *, positions: list[float] | None, timed: bool = False) -> Dataset:
    ds = copy.deepcopy(sample_dataset("eCT_Supplemental.dcm"))
    ds.Modality = modality
    for frame, z in zip(ds.PerFrameFunctionalGroupsSequence, positions or [0, 0], strict=True):
        if positions is None:
            del frame.PlanePositionSequence
        else:
            frame.PlanePositionSequence[0].ImagePositionPatient = [0, 0, z]
    if timed:
        ds.FrameIncrementPointer = Tag(0x0018, 0x1063)
        ds.FrameTime = 33.3
    return ds


@pytest.mark.parametrize(
    ("ds", "layout"),
    [
        (_enhanced("CT", positions=[0, 5]), Layout.VOLUME),
        (_enhanced("MR", positions=[5, 5]), Layout.FRAMES),  # two frames at one position
        (_enhanced("MR", positions=None), Layout.VOLUME),  # no positions: file order
        (_enhanced("CT", positions=None, timed=True), Layout.CINE),
        (_enhanced("XA", positions=None), Layout.CINE),
        (_enhanced("OT", positions=None, timed=True), Layout.CINE),
        (_enhanced("OT", positions=None), Layout.FRAMES),
        (_enhanced("RTDOSE", positions=None), Layout.DOSE),
    ],
)
def test_layout_of_multi_frame_objects(ds: pydicom.Dataset, layout: Layout) -> None:
    modality = str(ds.Modality)
    assert layout_of(ds, modality=modality, frames=2) is layout
