"""One DICOM file -> a DecodedFile: a single image, or a series for multi-frame files."""

from __future__ import annotations

from PIL import Image
from pydicom.dataset import Dataset

from bot.errors import DicomNoPixelData
from bot.imaging import dicom, dicom_pixels, geometry, series
from bot.imaging.dicom import DicomHeader
from bot.imaging.types import DecodedFile, ImagingOptions, ModelImage


def decode_dicom(data: bytes, *, options: ImagingOptions) -> DecodedFile:
    """Decode DICOM bytes; multi-frame files become a sampled, labelled series."""
    dataset = dicom.read_dataset(data)
    header = dicom.describe(dataset)
    if header.frames > 1:
        indices = series.sample_indices(header.frames, options.max_slices)
        images = render(dataset, header=header, indices=indices, options=options)
        return series.make_series(
            images,
            total=header.frames,
            modality=header.modality,
            privacy_flags=header.privacy_flags,
            series_key=header.series_key,
        )
    (image,) = render(dataset, header=header, indices=[0], options=options)
    return DecodedFile(
        kind=header.kind,
        images=(ModelImage(image=image),),
        source_format="dicom",
        modality=header.modality,
        specialty=header.specialty,
        privacy_flags=header.privacy_flags,
        series_key=header.series_key,
        sort_key=header.sort_key,
    )


def render(
    dataset: Dataset, *, header: DicomHeader, indices: list[int], options: ImagingOptions
) -> list[Image.Image]:
    """Model-ready images of the given frames, each checked and fitted."""
    if not header.has_pixels:
        raise DicomNoPixelData(detail="DICOM data set without pixel data")
    dicom_pixels.check_decodable(dataset, cap=geometry.pixel_cap(options))
    images = []
    for index in indices:
        rgb = dicom_pixels.render_frame(dataset, index=index, modality=header.modality)
        images.append(geometry.fit(Image.fromarray(rgb), options=options))
    return images
