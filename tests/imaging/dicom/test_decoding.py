"""DICOM pixels: Google's CT windows, MR min-max, radiograph window, colour, codecs, errors."""

from __future__ import annotations

import copy

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_color_lut
from pydicom.uid import UID

from bot.errors import CorruptImage, DicomNoPixelData, DicomUnsupportedSyntax, ImageTooLarge
from bot.imaging import Intensity, Specialty, decode
from tests.imaging import google_recipe as google
from tests.imaging.helpers import (
    NATIVE,
    dicom_bytes,
    options,
    pixels,
    sample,
    sample_dataset,
    sample_path,
)


def _raw(ds: pydicom.Dataset, dtype: str) -> np.ndarray:
    """Uncompressed pixel data read straight from the bytes, not through pydicom's handlers."""
    frames = int(ds.get("NumberOfFrames", 1))
    shape = (frames, ds.Rows, ds.Columns) if frames > 1 else (ds.Rows, ds.Columns)
    return np.frombuffer(ds.PixelData, dtype=dtype).reshape(shape)


def _stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.round(np.clip((values - low) / (high - low), 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize(("name", "dtype"), [("CT_small.dcm", "<i2"), ("693_UNCI.dcm", "<i2")])
def test_ct_three_windows_match_googles_recipe(name: str, dtype: str) -> None:
    ds = sample_dataset(name)
    hounsfield = _raw(ds, dtype) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    decoded = decode(sample(name), options=NATIVE)
    assert decoded.kind == "ct" and decoded.modality == "CT"
    assert decoded.specialty is Specialty.RADIOLOGIST and decoded.intensity is Intensity.CT_WINDOWS
    assert np.array_equal(pixels(decoded), google.ct_window(hounsfield))


@pytest.mark.parametrize(
    ("compressed", "uncompressed"),
    [
        # *_UNCR / *_UNCI are the decompressed twins of the reversible / irreversible files.
        ("693_J2KR.dcm", "693_UNCR.dcm"),
        ("693_J2KI.dcm", "693_UNCI.dcm"),
        ("RG1_J2KR.dcm", "RG1_UNCR.dcm"),
        ("RG1_J2KI.dcm", "RG1_UNCI.dcm"),
        ("MR2_J2KR.dcm", "MR2_UNCR.dcm"),
        ("US1_J2KR.dcm", "US1_UNCR.dcm"),
    ],
)
def test_jpeg2000_matches_its_uncompressed_twin(compressed: str, uncompressed: str) -> None:
    reference = pixels(decode(sample(uncompressed), options=NATIVE)).astype(int)
    ours = pixels(decode(sample(compressed), options=NATIVE)).astype(int)
    # Irreversible files were decompressed by another JPEG 2000 decoder: off by one at most.
    assert np.abs(ours - reference).max() <= (0 if "J2KR" in compressed else 1)


@pytest.mark.parametrize(("name", "worst"), [("MR_small.dcm", 0), ("MR2_UNCI.dcm", 1)])
def test_mr_min_max_like_googles_server(name: str, worst: int) -> None:
    # Google ignores MR windows and percentiles: one min-max of the acquisition (here, one
    # image). It also skips the rescale, which we apply (slices of one series may carry
    # different slopes); on MR2_UNCI (slope 3.77) that moves a few roundings by one level.
    ds = sample_dataset(name)
    (grey,) = google.mr_volume([ds.pixel_array])
    decoded = decode(sample(name), options=NATIVE)
    assert decoded.intensity is Intensity.MIN_MAX
    difference = np.abs(pixels(decoded).astype(int) - grey[..., np.newaxis])
    assert difference.max() <= worst and difference.mean() < 0.01


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "MR_small_expb.dcm",
    ],
)
def test_mr_transfer_syntaxes_decode_identically(name: str) -> None:
    reference = pixels(decode(sample("MR_small.dcm"), options=NATIVE))
    assert np.array_equal(pixels(decode(sample(name), options=NATIVE)), reference)


@pytest.mark.parametrize(
    ("name", "low", "high"), [("RG1_UNCI.dcm", 30, 248), ("RG3_UNCI.dcm", 10, 255)]
)
def test_radiograph_window_accurate_then_monochrome1_no_stretch(
    name: str, low: int, high: int
) -> None:
    ds = sample_dataset(name)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    expected = google.cxr(ds, _raw(ds, "<u2"))
    decoded = decode(sample(name), options=NATIVE)
    assert decoded.intensity is Intensity.FILE_WINDOW
    out = pixels(decoded)[..., 0]
    assert np.array_equal(out, expected)
    # Only the window decides the range: no min-max stretch afterwards.
    assert (out.min(), out.max()) == (low, high)


def test_monochrome1_chest_has_dark_lungs() -> None:
    decoded = decode(sample("RG1_UNCI.dcm"), options=NATIVE)
    assert decoded.kind == "radiograph" and decoded.modality == "CR"
    grey = pixels(decoded)[..., 0].astype(np.float64)
    rows, columns = grey.shape
    band = slice(int(rows * 0.30), int(rows * 0.50))
    right_lung = grey[band, int(columns * 0.22) : int(columns * 0.35)].mean()
    left_lung = grey[band, int(columns * 0.65) : int(columns * 0.78)].mean()
    mediastinum = grey[band, int(columns * 0.46) : int(columns * 0.54)].mean()
    assert right_lung < mediastinum - 40 and left_lung < mediastinum - 40


def test_without_window_full_range_min_max() -> None:
    ds = sample_dataset("JPEG2000.dcm")
    assert "WindowCenter" not in ds
    grey = pixels(decode(sample("JPEG2000.dcm"), options=NATIVE))[..., 0]
    raw = ds.pixel_array.astype(np.float64)
    expected = _stretch(raw, raw.min(), raw.max())
    assert np.array_equal(grey, expected)


@pytest.mark.parametrize("name", ["vlut_04.dcm", "mlut_18.dcm"])
def test_voi_and_modality_lookup_tables(name: str) -> None:
    grey = pixels(decode(sample(name), options=NATIVE))[..., 0]
    assert grey.min() == 0 and grey.max() == 255
    assert len(np.unique(grey)) > 32


def _sc_reference() -> np.ndarray:
    ds = sample_dataset("SC_rgb.dcm")
    assert ds.PlanarConfiguration == 0
    return np.frombuffer(ds.PixelData, dtype=np.uint8).reshape(ds.Rows, ds.Columns, 3)


def test_rgb_secondary_capture_exact() -> None:
    decoded = decode(sample("SC_rgb.dcm"), options=NATIVE)
    assert decoded.kind == "dicom" and decoded.modality == "OT" and decoded.specialty is None
    assert np.array_equal(pixels(decoded), _sc_reference())


@pytest.mark.parametrize(
    ("name", "worst", "average"),
    [
        ("SC_rgb_16bit.dcm", 1, 0.5),
        ("SC_rgb_32bit.dcm", 1, 0.5),
        ("SC_rgb_rle.dcm", 0, 0.0),
        ("SC_rgb_expb.dcm", 0, 0.0),
        ("SC_rgb_gdcm2k_uncompressed.dcm", 0, 0.0),
        # YBR -> RGB rounds; JPEG is lossy at the colour bars' sharp edges.
        ("SC_ybr_full_uncompressed.dcm", 8, 1.0),
        ("SC_ybr_full_422_uncompressed.dcm", 8, 1.0),
        ("SC_rgb_jpeg_dcmtk.dcm", 255, 3.0),
        ("SC_rgb_dcmtk_+eb+cy+np.dcm", 255, 3.0),
    ],
)
def test_colour_encodings_match_the_rgb_original(name: str, worst: int, average: float) -> None:
    difference = np.abs(pixels(decode(sample(name), options=NATIVE)).astype(int) - _sc_reference())
    assert difference.max() <= worst and difference.mean() <= average


def test_palette_colour_through_the_lookup_table() -> None:
    ds = pydicom.dcmread(sample_path("OT-PAL-8-face.dcm"), force=True)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    lut = apply_color_lut(ds.pixel_array, ds).astype(np.float64)
    expected = np.round(lut / 65535 * 255) if lut.max() > 255 else lut
    out = pixels(decode(sample("OT-PAL-8-face.dcm"), options=NATIVE)).astype(int)
    assert np.abs(out - expected).max() <= 1
    assert np.abs(out[..., 0] - out[..., 2]).mean() > 10  # really in colour


def test_ultrasound_palette_and_rgb() -> None:
    for name in ("OBXXXX1A.dcm", "US1_UNCI.dcm"):
        decoded = decode(sample(name), options=NATIVE)
        assert decoded.modality == "US" and decoded.kind == "dicom"
        assert decoded.specialty is Specialty.RADIOLOGIST
        out = pixels(decoded).astype(int)
        assert np.abs(out[..., 0] - out[..., 2]).max() > 50


def test_file_without_preamble_decodes_like_the_original() -> None:
    bare = dicom_bytes(sample_dataset("CT_small.dcm"), preamble=False)
    assert bare[128:132] != b"DICM"
    reference = pixels(decode(sample("CT_small.dcm"), options=NATIVE))
    assert np.array_equal(pixels(decode(bare, options=NATIVE)), reference)


def test_no_pixel_data() -> None:
    for name in ("rtplan.dcm", "test-SR.dcm", "waveform_ecg.dcm"):
        with pytest.raises(DicomNoPixelData):
            decode(sample(name), options=NATIVE)


def test_transfer_syntax_without_a_decoder() -> None:
    ds = sample_dataset("CT_small.dcm")
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")  # MPEG2, no decoder
    ds.PixelData = encapsulate([ds.PixelData])
    ds["PixelData"].VR = "OB"
    with pytest.raises(DicomUnsupportedSyntax):
        decode(dicom_bytes(ds), options=NATIVE)


def test_broken_pixel_data_is_corrupt() -> None:
    with pytest.raises(CorruptImage):
        decode(sample("MR_truncated.dcm"), options=NATIVE)


def test_lossy_12_bit_jpeg_with_a_bad_scan_header_reads_as_its_fixed_copy() -> None:
    # NEMA's NM1_JPLY: GDCM and libjpeg complain about its SOS parameters; pydicom ships a
    # fixed copy (JPGExtended.dcm) of the same pixels.
    fixed = pixels(decode(sample("JPGExtended.dcm"), options=NATIVE))
    assert np.array_equal(pixels(decode(sample("JPEG-lossy.dcm"), options=NATIVE)), fixed)


def test_pixel_cap_applies_to_dicom() -> None:
    with pytest.raises(ImageTooLarge):
        decode(sample("CT_small.dcm"), options=options(max_pixels=128 * 128 - 1))


@pytest.mark.parametrize(
    ("code", "kind", "specialty"),
    [
        ("CT", "ct", Specialty.RADIOLOGIST),
        ("MR", "mri", Specialty.RADIOLOGIST),
        ("DX", "radiograph", Specialty.RADIOLOGIST),
        ("MG", "radiograph", Specialty.RADIOLOGIST),
        ("PT", "dicom", Specialty.RADIOLOGIST),
        ("SM", "dicom", Specialty.PATHOLOGIST),
        ("OP", "dicom", Specialty.OPHTHALMOLOGIST),
        ("OPT", "dicom", Specialty.OPHTHALMOLOGIST),
        ("XC", "dicom", Specialty.DERMATOLOGIST),
        ("ES", "dicom", None),
        ("OT", "dicom", None),
    ],
)
def test_kind_and_specialty_from_modality(
    code: str, kind: str, specialty: Specialty | None
) -> None:
    ds = copy.deepcopy(sample_dataset("MR_small.dcm"))
    ds.Modality = code
    decoded = decode(dicom_bytes(ds), options=NATIVE)
    assert (decoded.kind, decoded.modality, decoded.specialty) == (kind, code, specialty)


def test_unknown_modality_text_is_not_exposed() -> None:
    ds = sample_dataset("MR_small.dcm")
    ds.Modality = "DOE JANE"
    decoded = decode(dicom_bytes(ds), options=NATIVE)
    assert decoded.modality is None and decoded.specialty is None and decoded.kind == "dicom"


@pytest.mark.parametrize(
    "name",
    [
        "JPEG-LL.dcm",  # JPEG lossless, process 14
        "JPGLosslessP14SV1_1s_1f_8b.dcm",
        "JPGExtended.dcm",  # JPEG extended, 12-bit
        "JPEGLSNearLossless_16.dcm",
        "JPEG2000.dcm",
        "SC_rgb_jpeg_gdcm.dcm",  # JPEG baseline, colour
        "examples_ybr_color.dcm",  # JPEG baseline YBR_FULL_422, 30 frames
        "emri_small_jpeg_2k_lossless.dcm",
        "SC_rgb_rle_16bit.dcm",
    ],
)
def test_compressed_transfer_syntaxes_decode(name: str) -> None:
    decoded = decode(sample(name), options=NATIVE)
    for image in decoded.images:
        array = np.asarray(image.image)
        assert image.image.mode == "RGB" and array.std() > 5  # not blank, not constant
