"""Patient data never leaves the imaging package: only flags do."""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator

import pydicom
import pytest

from bot.errors import ImagingError
from bot.imaging import DecodedFile, PrivacyFlag, assemble, configure, decode
from bot.logs import FILE_READERS, LibraryFloor, in_tree
from tests.imaging.helpers import DEFAULT, ct_slices, dicom_bytes, parse, sample_dataset

NAME = "Quixote^Dulcinea^Xq"
PATIENT_ID = "MRN88412ZZ"
BIRTH_DATE = "19450317"
INSTITUTION = "Hospital of San Zq"
SECRETS = (NAME, "Quixote", "Dulcinea", PATIENT_ID, BIRTH_DATE, INSTITUTION)


@pytest.fixture
def pydicom_debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """pydicom's debug mode logs every element it reads, values included.

    It lowers pydicom's level past what bot.imaging.configure() set, so what stops its
    records is the bot's handler-side backstop, LibraryFloor: caplog's handler gets it too.
    """
    pydicom_logger = logging.getLogger("pydicom")
    level = pydicom_logger.level
    caplog.handler.addFilter(floor := LibraryFloor())
    pydicom.config.debug(True, default_handler=False)
    try:
        yield
    finally:
        pydicom.config.debug(False, default_handler=False)
        pydicom_logger.setLevel(level)
        caplog.handler.removeFilter(floor)


def _identified(name: str = "CT_small.dcm") -> pydicom.Dataset:
    ds = copy.deepcopy(sample_dataset(name))
    ds.PatientName = NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = BIRTH_DATE
    ds.InstitutionName = INSTITUTION
    return ds


def _texts(decoded: DecodedFile) -> list[str]:
    texts = [str(decoded), repr(decoded)]
    for image in decoded.images:
        texts += [str(image), repr(image), repr(image.image.info), repr(image.image.getexif())]
    return texts


def _assert_clean(texts: list[str]) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_identifiers_are_flagged_not_carried(
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    pydicom_debug_logging: None,
) -> None:
    caplog.set_level(logging.DEBUG)
    decoded = decode(dicom_bytes(_identified()), options=DEFAULT)
    assert PrivacyFlag.PATIENT_IDENTIFIERS in decoded.privacy_flags
    _assert_clean(_texts(decoded))
    _assert_clean([caplog.text, *(record.getMessage() for record in caplog.records)])
    captured = capsys.readouterr()
    _assert_clean([captured.out, captured.err])


def test_a_pydicom_warning_during_a_decode_is_neither_shown_nor_logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = _identified()
    # pydicom quotes the header value it cannot use: "Unknown encoding '<value>' - ..."
    ds.SpecificCharacterSet = PATIENT_ID
    data = dicom_bytes(ds)
    caplog.set_level(logging.DEBUG)
    caplog.clear()  # what writing the file logged
    with warnings.catch_warnings(record=True) as shown:
        warnings.resetwarnings()  # pytest's own filters out: what the bot's process has
        configure()
        decoded = decode(data, options=DEFAULT)
    assert PrivacyFlag.PATIENT_IDENTIFIERS in decoded.privacy_flags  # the header was read
    assert [str(w.message) for w in shown] == []
    assert [r.name for r in caplog.records if in_tree(r.name, FILE_READERS)] == []
    captured = capsys.readouterr()
    _assert_clean([caplog.text, captured.out, captured.err])


@pytest.mark.parametrize("keyword", ["PatientName", "PatientID", "PatientBirthDate"])
def test_each_identifier_alone_raises_the_flag(keyword: str) -> None:
    ds = copy.deepcopy(sample_dataset("CT_small.dcm"))
    for other in ("PatientName", "PatientID", "PatientBirthDate"):
        if other in ds:
            delattr(ds, other)
    assert decode(dicom_bytes(ds), options=DEFAULT).privacy_flags == frozenset()
    setattr(ds, keyword, {"PatientBirthDate": BIRTH_DATE}.get(keyword, "X1"))
    flags = decode(dicom_bytes(ds), options=DEFAULT).privacy_flags
    assert flags == {PrivacyFlag.PATIENT_IDENTIFIERS}


def test_empty_identifiers_do_not_raise_the_flag() -> None:
    ds = copy.deepcopy(sample_dataset("CT_small.dcm"))
    ds.PatientName = ""
    ds.PatientID = "  "
    ds.PatientBirthDate = ""
    assert decode(dicom_bytes(ds), options=DEFAULT).privacy_flags == frozenset()


def test_burned_in_annotation_flag() -> None:
    ds = copy.deepcopy(sample_dataset("US1_UNCI.dcm"))
    ds.BurnedInAnnotation = "YES"
    flags = decode(dicom_bytes(ds), options=DEFAULT).privacy_flags
    assert PrivacyFlag.BURNED_IN_ANNOTATION in flags
    ds.BurnedInAnnotation = "NO"
    assert (
        PrivacyFlag.BURNED_IN_ANNOTATION
        not in decode(dicom_bytes(ds), options=DEFAULT).privacy_flags
    )


def test_assembled_series_carries_no_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    files = []
    for data in ct_slices(3):
        ds = parse(data)
        ds.PatientName = NAME
        ds.InstitutionName = INSTITUTION
        files.append(decode(dicom_bytes(ds), options=DEFAULT))
    (series,) = assemble(files, options=DEFAULT)
    assert PrivacyFlag.PATIENT_IDENTIFIERS in series.privacy_flags
    _assert_clean([*_texts(series), caplog.text])


@pytest.mark.parametrize("damage", ["truncate", "no_pixels", "bad_syntax", "bad_values"])
def test_errors_carry_no_values(
    damage: str, caplog: pytest.LogCaptureFixture, pydicom_debug_logging: None
) -> None:
    caplog.set_level(logging.DEBUG)
    ds = _identified()
    if damage == "no_pixels":
        del ds.PixelData
    if damage == "bad_syntax":
        ds.file_meta.TransferSyntaxUID = pydicom.uid.UID("1.2.3.4.987654321")
    if damage == "bad_values":
        ds.Rows = 4000  # claims far more pixels than the data holds
    data = dicom_bytes(ds)
    if damage == "truncate":
        data = data[: len(data) - 5000]
    with pytest.raises(ImagingError) as caught:
        decode(data, options=DEFAULT)
    error = caught.value
    texts = [str(error), repr(error), error.detail, repr(error.params), caplog.text]
    _assert_clean(texts)
    assert not any("987654321" in text for text in texts)


@pytest.mark.parametrize(
    ("study", "acquisition", "taken"),
    [
        ("20240105", "20240106", "20240105"),  # the study's date first
        ("", "20240106", "20240106"),  # else the acquisition's
        ("2024-01-05", "", None),  # not DICOM's DA form: none
        ("", "", None),
    ],
)
def test_a_films_date_is_kept_to_order_it_and_never_shown(
    study: str, acquisition: str, taken: str | None
) -> None:
    ds = sample_dataset("CT_small.dcm")
    ds.StudyDate, ds.AcquisitionDate = study, acquisition
    decoded = decode(dicom_bytes(ds), options=DEFAULT)
    assert decoded.taken == taken
    assert "taken" not in repr(decoded) and (taken is None or taken not in repr(decoded))
