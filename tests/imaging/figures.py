"""Print the bot-versus-Google figures for issue 9: `python -m tests.imaging.figures`.

Not a test: it measures whatever `bot.imaging` is importable, so the same script gives the
"before" figures on an older checkout (PYTHONPATH) and the "after" figures on this one.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile

import numpy as np

from bot.imaging import DecodedFile, assemble, decode
from tests.imaging import google_recipe as google
from tests.imaging.helpers import (
    NATIVE,
    ct_slices,
    localizer,
    mr_slices,
    parse,
    sample,
    sample_dataset,
)
from tests.imaging.slides import synthetic as slides


def _grey(decoded: DecodedFile) -> list[np.ndarray]:
    return [np.asarray(image.image)[..., 0].astype(int) for image in decoded.images]


def _row(case: str, measure: str, value: object) -> None:
    print(f"| {case} | {measure} | {value} |")


def _diff(ours: list[np.ndarray], theirs: list[np.ndarray]) -> str:
    if len(ours) != len(theirs):
        return f"{len(ours)} images vs {len(theirs)}"
    deltas = np.concatenate(
        [np.abs(a.astype(int) - b.astype(int)).ravel() for a, b in zip(ours, theirs, strict=True)]
    )
    return f"max {int(deltas.max())}, mean {deltas.mean():.2f}"


def classic_ct() -> None:
    ds = sample_dataset("CT_small.dcm")
    reference = google.ct_window(
        ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    )
    ours = np.asarray(decode(sample("CT_small.dcm"), options=NATIVE).images[0].image)
    _row("CT_small.dcm", "RGB vs notebook windows", _diff([ours], [reference]))


def enhanced_ct() -> None:
    ds = sample_dataset("eCT_Supplemental.dcm")
    stored = ds.pixel_array
    order = sorted(range(2), key=lambda i: google.frame_position(ds, i))
    reference = [google.ct_window(google.enhanced_rescale(ds, i, stored[i])) for i in order]
    decoded = decode(sample("eCT_Supplemental.dcm"), options=NATIVE)
    ours = [np.asarray(image.image) for image in decoded.images]
    for channel, name in enumerate("RGB"):
        _row(
            "eCT_Supplemental.dcm",
            f"{name} vs notebook windows on functional-group HU, plane order",
            _diff([o[..., channel] for o in ours], [r[..., channel] for r in reference]),
        )


def mr() -> None:
    ds = sample_dataset("emri_small.dcm")
    reference = google.mr_volume(list(ds.pixel_array))
    _row(
        "emri_small.dcm (10 frames)",
        "grey vs acquisition min-max",
        _diff(_grey(decode(sample("emri_small.dcm"), options=NATIVE)), reference),
    )
    for name in ("MR2_UNCI.dcm",):  # RescaleSlope 3.77, which Google's MR path skips
        (reference,) = google.mr_volume([sample_dataset(name).pixel_array])
        ours = _grey(decode(sample(name), options=NATIVE))
        _row(name, "grey vs min-max", _diff(ours, [reference]))
    single = google.mr_volume([sample_dataset("MR_small.dcm").pixel_array])
    _row(
        "MR_small.dcm",
        "grey vs min-max",
        _diff(_grey(decode(sample("MR_small.dcm"), options=NATIVE)), single),
    )
    files = mr_slices(6)
    datasets = sorted((parse(f) for f in files), key=lambda d: int(d.InstanceNumber))
    reference = google.mr_volume([d.pixel_array for d in datasets])
    zipped = decode(_zip(files), options=NATIVE)
    _row("6 MR slices, zip", "grey vs acquisition min-max", _diff(_grey(zipped), reference))
    (loose,) = assemble([decode(f, options=NATIVE) for f in files], options=NATIVE)
    _row("6 MR slices, loose files", "grey vs acquisition min-max", _diff(_grey(loose), reference))


def radiographs() -> None:
    for name in ("RG1_UNCI.dcm", "RG3_UNCI.dcm"):
        ds = sample_dataset(name)
        reference = google.cxr(ds, ds.pixel_array)
        ours = _grey(decode(sample(name), options=NATIVE))
        _row(
            name,
            "range ours / Google",
            f"{ours[0].min()}-{ours[0].max()} / {reference.min()}-{reference.max()}",
        )
        _row(name, "grey vs window_accurate", _diff(ours, [reference]))


def grouping() -> None:
    axial = ct_slices(10)
    mixed = [*axial, *(localizer(axial[i], number=i) for i in range(3))]
    datasets = sorted((parse(f) for f in mixed), key=lambda d: int(d.InstanceNumber))
    largest = max(google.acquisitions(datasets), key=len)
    decoded = decode(_zip(mixed), options=NATIVE)
    _row(
        "10 axial CT + 3 localizers, one series (zip)",
        "slices read / Google's largest acquisition",
        f"{len(decoded.images)} / {len(largest)}",
    )
    _row(
        "10 axial CT + 3 localizers, one series (zip)",
        "other groups reported",
        decoded.skipped_series,
    )
    for name in ("examples_ybr_color.dcm", "rtdose.dcm"):
        decoded = decode(sample(name), options=NATIVE)
        labels = [image.label for image in decoded.images]
        layout = getattr(decoded, "layout", "-")
        _row(name, "kind / layout / first label", f"{decoded.kind} / {layout} / {labels[0]}")
    ds = sample_dataset("rtdose.dcm")
    offsets = [float(v) for v in ds.GridFrameOffsetVector]
    order = sorted(range(len(offsets)), key=lambda i: offsets[i])
    reference = google.mr_volume([ds.pixel_array[i] for i in order])
    _row(
        "rtdose.dcm",
        "grey vs one min-max over the grid",
        _diff(_grey(decode(sample("rtdose.dcm"), options=NATIVE)), reference),
    )


def pathology() -> None:
    cases = [
        ("slide 0.5 um/px, Deflate", {"microns": 0.5}, slides.OPTIONS),
        ("slide 0.25 um/px, JPEG tiles", {"microns": 0.25, "compression": "jpeg"}, slides.OPTIONS),
        (
            "slide 0.5 um/px, level 0 over the pixel cap",
            {"microns": 0.5},
            dataclasses.replace(slides.OPTIONS, max_pixels=500_000),
        ),
    ]
    for name, build, chosen in cases:
        slide = slides.build(**build)
        decoded = decode(slide.data, options=chosen)
        width_um = slide.truth.shape[1]  # the truth is at 1 um/px
        microns = getattr(decoded, "microns_per_pixel", None)
        if microns is None:
            microns = width_um / decoded.images[0].image.width
        _row(
            name,
            "images / um per pixel (recipe: up to 125 / 1.0)",
            f"{len(decoded.images)} / {microns:.1f}",
        )
        _row(name, "6 tissue cells at 1 um/px vs output", slides.match(decoded, slide))


def _zip(files: list[bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for index, data in enumerate(files):
            zipped.writestr(f"s/{index}.dcm", data)
    return buffer.getvalue()


if __name__ == "__main__":
    print("| case | measure | value |\n|---|---|---|")
    for section in (classic_ct, enhanced_ct, mr, radiographs, grouping, pathology):
        section()
