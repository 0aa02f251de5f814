"""Synthetic DICOM whole-slide images: one level of the synthetic slide's truth, tiled
as the frames of a VL Whole Slide Microscopy file (TILED_FULL)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

from bot.imaging.dicom.wsi import WSI_SOP_CLASS
from tests.imaging.helpers import dicom_bytes
from tests.imaging.slides import synthetic

TILE = synthetic.TILE


def _tiles(level: np.ndarray, side: int) -> list[np.ndarray]:
    height, width = level.shape[:2]
    tiles = []
    for y in range(0, height, side):
        for x in range(0, width, side):
            tile = np.full((side, side, 3), synthetic.GLASS, dtype=np.uint8)
            part = level[y : y + side, x : x + side]
            tile[: part.shape[0], : part.shape[1]] = part
            tiles.append(tile)
    return tiles


def _jpeg(tile: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(tile).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def build(
    *,
    microns: float = 0.5,
    jpeg: bool = True,
    organisation: str = "TILED_FULL",
    spacing: bool = True,
    patient: str = "",
    enlarge: int = 1,
    tile: int = TILE,
) -> synthetic.Slide:
    """The synthetic truth at `microns` per pixel as one DICOM whole-slide level.

    `enlarge` makes each truth cell that many times larger at the same resolution (7:
    cells of 896 px at 10x, for the shipped model side).
    """
    reference = synthetic.truth()
    reference = np.repeat(np.repeat(reference, enlarge, axis=0), enlarge, axis=1)
    factor = round(1 / microns)
    level = np.repeat(np.repeat(reference, factor, axis=0), factor, axis=1)
    tiles = _tiles(level, tile)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit if jpeg else ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = WSI_SOP_CLASS
    ds.file_meta.MediaStorageSOPInstanceUID = uid = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = WSI_SOP_CLASS, uid
    ds.Modality, ds.ImageType = "SM", ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    ds.PatientName = patient
    ds.Rows = ds.Columns = tile
    ds.TotalPixelMatrixRows, ds.TotalPixelMatrixColumns = level.shape[:2]
    ds.NumberOfFrames = len(tiles)
    ds.DimensionOrganizationType = organisation
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    ds.PhotometricInterpretation = "YBR_FULL_422" if jpeg else "RGB"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if spacing:
        measures = Dataset()
        measures.PixelSpacing = [microns / 1000, microns / 1000]
        shared = Dataset()
        shared.PixelMeasuresSequence = Sequence([measures])
        ds.SharedFunctionalGroupsSequence = Sequence([shared])
    if jpeg:
        ds.PixelData = encapsulate([_jpeg(t) for t in tiles])
        ds["PixelData"].VR = "OB"
    else:
        ds.PixelData = b"".join(t.tobytes() for t in tiles)
    return synthetic.Slide(data=dicom_bytes(ds), truth=reference, microns=microns)
