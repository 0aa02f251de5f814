"""One DICOM file -> a DecodedFile: a single image, or an ordered set for multi-frame files."""

from __future__ import annotations

from dataclasses import replace

from PIL import Image
from pydicom.dataset import Dataset

from bot.imaging import geometry, series
from bot.imaging.budget import Allowance
from bot.imaging.dicom import layout as dicom_layout
from bot.imaging.dicom import pixels as dicom_pixels
from bot.imaging.dicom import read as dicom
from bot.imaging.dicom import render as dicom_render
from bot.imaging.dicom.layout import CROSS_SECTIONAL
from bot.imaging.dicom.read import DicomHeader
from bot.imaging.dicom.render import Source
from bot.imaging.dicom.wsi import wsi_patches
from bot.imaging.types import DecodedFile, ImagingOptions, Intensity, ModelImage


def decode_dicom(data: bytes, *, options: ImagingOptions, allowance: Allowance) -> DecodedFile:
    """Decode DICOM bytes; multi-frame files become a sampled, labelled, ordered set, and a
    whole-slide image tissue patches."""
    dataset = dicom.read_dataset(data, allowance=allowance)
    header = dicom.describe(dataset, secret=options.key_secret)
    patches = wsi_patches(dataset, data, options=options, allowance=allowance)
    if patches is not None:
        return replace(patches, modality=header.modality, privacy_flags=header.privacy_flags)
    if header.frames > 1:
        return _multi_frame(dataset, header=header, options=options, allowance=allowance)
    return _single(dataset, header=header, options=options, allowance=allowance)


def _single(
    dataset: Dataset, *, header: DicomHeader, options: ImagingOptions, allowance: Allowance
) -> DecodedFile:
    """One image; grey CT/MR/PET slices keep their values for a series shared file by file."""
    intensity = dicom_pixels.intensity_for(dataset, modality=header.modality)
    _, frame = dicom_render.read(Source(load=lambda: dataset), options=options, allowance=allowance)
    mapped = dicom_pixels.to_pixels(frame, dataset, index=0, intensity=intensity)
    kept = intensity is Intensity.MIN_MAX and header.modality in CROSS_SECTIONAL
    return DecodedFile(
        kind=header.kind,
        images=(ModelImage(image=geometry.fit(Image.fromarray(mapped), options=options)),),
        source_format="dicom",
        modality=header.modality,
        specialty=header.specialty,
        privacy_flags=header.privacy_flags,
        series_key=header.series_key,
        sort_key=header.sort_key,
        acquisition_key=header.acquisition_key,
        intensity=intensity,
        grey=dicom_render.grey_values(frame, options=options) if kept else None,
        taken=header.taken,
    )


def _multi_frame(
    dataset: Dataset, *, header: DicomHeader, options: ImagingOptions, allowance: Allowance
) -> DecodedFile:
    """A volume, a cine run, dose planes or other frames: ordered, sampled, one mapping.

    Frames are sampled before anything is decoded, as many as the model takes and the
    file's pixel budget pays for (fewer, evenly spaced, for very large frames).
    """
    frames = header.frames
    layout = dicom_layout.layout_of(dataset, modality=header.modality, frames=frames)
    order = dicom_layout.frame_order(dataset, layout=layout, frames=frames)
    wanted = allowance.frames(min(frames, options.max_slices), frame_pixels=header.frame_pixels)
    chosen = [order[i] for i in series.sample_indices(frames, wanted)]
    intensity = dicom_pixels.intensity_for(dataset, modality=header.modality)
    sources = [Source(load=lambda: dataset, index=index) for index in range(frames)]
    images = dicom_render.render_set(
        sources, chosen, intensity=intensity, options=options, allowance=allowance
    )
    return series.make_set(
        images,
        layout=layout,
        intensity=intensity,
        total=frames,
        modality=header.modality,
        privacy_flags=header.privacy_flags,
        series_key=header.series_key,
    )
