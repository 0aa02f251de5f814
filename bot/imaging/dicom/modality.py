"""DICOM modality codes: which are known, what kind of image each is, which specialist reads it."""

from __future__ import annotations

from bot.imaging.types import Specialty

# Defined terms of (0008,0060) Modality (PS3.3 C.7.3.1.1.1) plus common retired ones. Only a
# code on this list leaves the package: the attribute is free text in a hostile file.
KNOWN_MODALITIES = frozenset(
    "AR ASMT AU BDUS BI BMD CD CF CR CS CT CTPROTOCOL DD DF DG DM DMS DOC DR DS DX EC ECG EEG "
    "EMG EOG EPS ES FA FID GM HC HD IO IOL IVOCT IVUS KER KO LEN LP LS M3D MA MG MR MS NM OAM "
    "OCT OP OPM OPR OPT OPTBSV OPTENF OPV OSS OT PLAN POS PR PT PX REG RESP RF RG RTDOSE "
    "RTIMAGE RTINTENT RTPLAN RTRAD RTRECORD RTSEGANN RTSTRUCT RWV SEG SM SMR SR SRF ST STAIN "
    "TEXTUREMAP TG US VA VF XA XAPROTOCOL XC".split()
)

_RADIOGRAPHS = frozenset("CR DX MG XA RF RG DR PX IO".split())
_SPECIALTIES: dict[str, Specialty] = {
    **dict.fromkeys("CT MR CR DX MG XA RF US PT NM RG DR PX IO".split(), Specialty.RADIOLOGIST),
    **dict.fromkeys("SM GM".split(), Specialty.PATHOLOGIST),
    **dict.fromkeys("OP OPT OPM OPV OAM OPTBSV OPTENF".split(), Specialty.OPHTHALMOLOGIST),
    # External-camera photographs in clinics are mostly of skin.
    "XC": Specialty.DERMATOLOGIST,
}


def normalise(raw: object) -> str | None:
    """The modality code when it is a known one, else None."""
    code = str(raw or "").strip().upper()
    return code if code in KNOWN_MODALITIES else None


def kind_for(modality: str | None) -> str:
    """DecodedFile.kind for a single DICOM image of this modality."""
    if modality == "CT":
        return "ct"
    if modality == "MR":
        return "mri"
    return "radiograph" if modality in _RADIOGRAPHS else "dicom"


def specialty_for(modality: str | None) -> Specialty | None:
    """The specialist prompt that fits this modality, None when unknown."""
    return _SPECIALTIES.get(modality or "")
