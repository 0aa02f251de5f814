"""bot.pipeline.notes: what an answer says besides the findings, as input/expected tables."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.backends.base import ChatMessage, FinishReason, ImagePart, TextPart
from bot.imaging.types import DecodedFile, Layout, ModelImage, PrivacyFlag
from bot.pipeline.conversation import Conversation, Note
from bot.pipeline.messages import DecodedThread, Message
from bot.pipeline.notes import (
    answer_notes,
    caveats,
    cut_notes,
    left_out_notes,
    model_advice,
    privacy_notes,
    request_notes,
    seen_images,
    series_notes,
)
from bot.specialty import Specialty

ID = PrivacyFlag.PATIENT_IDENTIFIERS
BURNED = PrivacyFlag.BURNED_IN_ANNOTATION
IDS = frozenset({ID})
OLD_MODEL = "google/medgemma-4b-it"
VOLUME_MODEL = "google/medgemma-1.5-4b-it"


def file(
    *,
    flags: frozenset[PrivacyFlag] = frozenset(),
    layout: Layout = Layout.SINGLE,
    source: str = "png",
    skipped: int = 0,
    images: int = 1,
    kind: str = "photo",
) -> DecodedFile:
    pictures = tuple(ModelImage(Image.new("RGB", (4, 4)), label=f"{n}") for n in range(images))
    return DecodedFile(
        kind=kind,
        images=pictures,
        source_format=source,
        privacy_flags=flags,
        layout=layout,
        skipped_series=skipped,
    )


# (case id, the newest message's files, expected notes)
PRIVACY: list[tuple[str, list[DecodedFile], list[Note]]] = [
    ("no flags", [file(), file()], []),
    ("identifiers in the 2nd", [file(), file(flags=IDS)], [("patient_identifiers", {})]),
    ("identifiers in the 1st", [file(flags=IDS), file()], [("patient_identifiers", {})]),
    ("burned in", [file(flags=frozenset({BURNED}))], [("burned_in", {})]),
    (
        "both, in two files, named once each",
        [file(flags=frozenset({BURNED})), file(flags=frozenset({ID, BURNED}))],
        [("patient_identifiers", {}), ("burned_in", {})],
    ),
]


@pytest.mark.parametrize(("name", "files", "expected"), PRIVACY, ids=[c[0] for c in PRIVACY])
def test_privacy_notes(name: str, files: list[DecodedFile], expected: list[Note]) -> None:
    assert privacy_notes(files) == expected


# (case id, the newest message's files, expected notes)
SERIES: list[tuple[str, list[DecodedFile], list[Note]]] = [
    ("a photo", [file()], []),
    ("a volume, whatever the model: advice is not a note", [file(layout=Layout.VOLUME)], []),
    (
        "two zips that left series out",
        [file(skipped=2, layout=Layout.VOLUME), file(), file(skipped=1)],
        [("series_skipped", {"count": 2}), ("series_skipped", {"count": 1})],
    ),
]


@pytest.mark.parametrize(("name", "files", "expected"), SERIES, ids=[c[0] for c in SERIES])
def test_series_notes(name: str, files: list[DecodedFile], expected: list[Note]) -> None:
    assert series_notes(files) == expected


# (case id, the newest message's files, the model, the model the logs advise)
ADVICE: list[tuple[str, list[DecodedFile], str, str | None]] = [
    ("a photo", [file()], OLD_MODEL, None),
    ("a volume, the volume model", [file(layout=Layout.VOLUME)], VOLUME_MODEL, None),
    ("a volume, an older model", [file(layout=Layout.VOLUME)], OLD_MODEL, VOLUME_MODEL),
    ("slide patches, an older model", [file(layout=Layout.PATCHES)], OLD_MODEL, VOLUME_MODEL),
    ("cine frames are no volume", [file(layout=Layout.CINE)], OLD_MODEL, None),
]


@pytest.mark.parametrize(("name", "files", "model", "expected"), ADVICE, ids=[c[0] for c in ADVICE])
def test_model_advice_is_for_the_logs(
    name: str, files: list[DecodedFile], model: str, expected: str | None
) -> None:
    assert model_advice(files, model=model) == expected


# (why generation stopped, the answer's limit, expected notes)
CUT: list[tuple[FinishReason, int, list[Note]]] = [
    ("stop", 1024, []),
    ("length", 1024, [("answer_cut", {"limit": 1024})]),
    ("length", 300, [("answer_cut", {"limit": 300})]),
]


@pytest.mark.parametrize(("finish", "limit", "expected"), CUT)
def test_a_cut_answer_says_so(finish: FinishReason, limit: int, expected: list[Note]) -> None:
    assert cut_notes(finish, limit=limit) == expected


def thread(*, unreadable: int = 0, skipped: tuple[int, ...] = (), total: int = 0) -> DecodedThread:
    return DecodedThread(
        messages=[Message("user", "q")], unreadable=unreadable, skipped=skipped, newest_files=total
    )


# (case id, the decoded thread, expected notes)
LEFT_OUT: list[tuple[str, DecodedThread, list[Note]]] = [
    ("everything read", thread(total=2), []),
    ("earlier files gone", thread(unreadable=3), [("files_unreadable", {"count": 3})]),
    (
        "two of the newest five left out",
        thread(skipped=(2, 5), total=5),
        [("files_left_out", {"which": "2, 5", "total": 5})],
    ),
    (
        "both",
        thread(unreadable=1, skipped=(1,), total=2),
        [("files_unreadable", {"count": 1}), ("files_left_out", {"which": "1", "total": 2})],
    ),
]


@pytest.mark.parametrize(("name", "decoded", "expected"), LEFT_OUT, ids=[c[0] for c in LEFT_OUT])
def test_left_out_notes(name: str, decoded: DecodedThread, expected: list[Note]) -> None:
    assert left_out_notes(decoded) == expected


IMAGE = ImagePart(Image.new("RGB", (4, 4)))


def conversation(*turns: ChatMessage, notes: tuple[Note, ...] = ()) -> Conversation:
    return Conversation(messages=turns, max_new_tokens=10, tokens=100, notes=notes)


# (case id, the request, whether the answer is empty, expected notes)
REQUEST: list[tuple[str, Conversation, bool, list[Note]]] = [
    ("one image", conversation(ChatMessage("user", (IMAGE, TextPart("q")))), False, []),
    (
        "images in two user turns: a comparison",
        conversation(
            ChatMessage("user", (IMAGE,)),
            ChatMessage("assistant", (TextPart("a"),)),
            ChatMessage("user", (IMAGE, TextPart("and now?"))),
        ),
        False,
        [("comparison", {})],
    ),
    ("two images in one turn", conversation(ChatMessage("user", (IMAGE, IMAGE))), False, []),
    (
        "what fitting left out comes first, an empty answer last",
        conversation(ChatMessage("user", (TextPart("q"),)), notes=(("turns_dropped", {"n": 1}),)),
        True,
        [("turns_dropped", {"n": 1}), ("empty_answer", {})],
    ),
]


@pytest.mark.parametrize(
    ("name", "conv", "empty", "expected"), REQUEST, ids=[c[0] for c in REQUEST]
)
def test_request_notes(name: str, conv: Conversation, empty: bool, expected: list[Note]) -> None:
    assert request_notes(conv, empty=empty) == expected


def test_answer_notes_come_in_order() -> None:
    newest = file(flags=frozenset({ID}), layout=Layout.VOLUME, skipped=1)
    decoded = DecodedThread(
        messages=[Message("user", "q", files=(newest,))], unreadable=2, skipped=(2,), newest_files=2
    )
    conv = conversation(ChatMessage("user", (IMAGE,)), notes=(("slices_used", {}),))
    keys = [key for key, _ in answer_notes(decoded, conv, empty=True)]
    assert keys == [
        "patient_identifiers",
        "series_skipped",
        "files_unreadable",
        "files_left_out",
        "slices_used",
        "empty_answer",
    ]


# (case id, the findings, the specialty, whether the retinopathy caveat is added)
CAVEATS: list[tuple[str, str, Specialty, bool]] = [
    ("a grade, ophthalmology", "Moderate diabetic retinopathy.", Specialty.OPHTHALMOLOGIST, True),
    ("in Spanish", "Retinopatía diabética leve.", Specialty.OPHTHALMOLOGIST, True),
    ("in Japanese", "糖尿病網膜症の所見。", Specialty.OPHTHALMOLOGIST, True),
    ("in Chinese", "可见视网膜病变。", Specialty.OPHTHALMOLOGIST, True),
    ("upper case", "RETINOPATHY", Specialty.OPHTHALMOLOGIST, True),
    ("no grade", "Normal fundus.", Specialty.OPHTHALMOLOGIST, False),
    ("another specialty", "Retinopathy mentioned.", Specialty.RADIOLOGIST, False),
]


@pytest.mark.parametrize(
    ("name", "findings", "specialty", "added"), CAVEATS, ids=[c[0] for c in CAVEATS]
)
def test_caveats(name: str, findings: str, specialty: Specialty, added: bool) -> None:
    assert caveats(findings, specialty=specialty) == ([("retinopathy", {})] if added else [])


def test_seen_images_are_dicom_and_image_sets_without_burned_in_text() -> None:
    photo = file(images=1)
    dicom = file(source="dicom", kind="radiograph")
    burned = file(source="dicom", flags=frozenset({BURNED}))
    volume = file(layout=Layout.VOLUME, kind="series", source="dicom", images=3)
    zipped = file(source="zip", images=2)
    frames_from_photos = file(layout=Layout.IMAGES, images=2)
    shown = (photo, dicom, burned, volume, zipped, frames_from_photos)
    conv = Conversation(messages=(), max_new_tokens=1, tokens=1, shown=shown)
    expected = [*dicom.images, *volume.images, *zipped.images, *frames_from_photos.images]
    assert list(seen_images(conv)) == expected
