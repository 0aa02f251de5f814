"""Tests for bot.pipeline.conversation: turns, merging, series layout and the token/image budget.

Token counts are one per word (`count_text` below) so every expected total is worked
out by hand from the rule: a turn costs its words, the words of its series instruction
and slice labels, TURN_OVERHEAD and `tokens_per_image` per image; the request costs the
system prompt (plus TURN_OVERHEAD), every turn, and the answer allowance.
"""

from __future__ import annotations

import itertools
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.backends.base import ChatMessage, ImagePart, TextPart
from bot.errors import ImagesLeftBehind, TooMuchText
from bot.imaging.types import DecodedFile, ModelImage
from bot.pipeline.conversation import TURN_OVERHEAD, Budget, Conversation, Texts, build
from bot.pipeline.messages import DecodedMessage
from bot.prompts import IMAGE_SET_KEYS

OH = TURN_OVERHEAD
SET_TEXT = "Series of {count} {modality} slices"  # 5 words once filled
TEXTS = Texts(
    system="You are a radiologist.",  # 4 words
    image_sets=dict.fromkeys(IMAGE_SET_KEYS, SET_TEXT),
    default_question="Describe the findings.",  # 3 words
)
SYSTEM_TOKENS = 4 + OH
SERIES_WORDS = 5
TPI = 100  # tokens per image in every budget below


def words(text: str) -> int:
    """The test's tokenizer: one token per word."""
    return len(text.split())


def budget(
    *,
    context: int = 100_000,
    model_context: int | None = None,
    max_images: int = 100,
    max_new: int = 300,
) -> Budget:
    """A budget; the model's context defaults to the configured one."""
    return Budget(
        context_tokens=context,
        model_context=model_context if model_context is not None else context,
        max_images=max_images,
        max_new_tokens=max_new,
        tokens_per_image=TPI,
    )


def new_image() -> Image.Image:
    """A distinct tiny image (tests compare images by identity)."""
    return Image.new("RGB", (4, 4))


def photo(n: int = 1) -> DecodedFile:
    """A plain file with `n` images."""
    return DecodedFile(
        kind="photo",
        images=tuple(ModelImage(new_image()) for _ in range(n)),
        source_format="png",
    )


def series(n: int, modality: str | None = "CT") -> DecodedFile:
    """A series of `n` labelled slices ("SLICE i": two words each)."""
    return DecodedFile(
        kind="series",
        images=tuple(ModelImage(new_image(), label=f"SLICE {i}") for i in range(1, n + 1)),
        source_format="dicom",
        modality=modality,
        total_slices=n,
    )


def user(text: str, *files: DecodedFile, author: str = "") -> DecodedMessage:
    return DecodedMessage("user", text, author=author, files=files)


def bot(text: str) -> DecodedMessage:
    return DecodedMessage("assistant", text)


def run(thread: list[DecodedMessage], b: Budget | None = None) -> Conversation:
    return build(thread, texts=TEXTS, budget=b or budget(), count_text=words)


def images_of(*files: DecodedFile) -> list[Image.Image]:
    return [m.image for f in files for m in f.images]


def same_images(actual: list[Image.Image], expected: list[Image.Image]) -> bool:
    if len(actual) != len(expected):
        return False
    return all(a is e for a, e in zip(actual, expected, strict=True))


def roles(conv: Conversation) -> list[str]:
    return [m.role for m in conv.messages]


def texts_of(message: ChatMessage) -> list[str]:
    return [p.text for p in message.parts if isinstance(p, TextPart)]


def notes(conv: Conversation) -> dict[str, dict[str, object]]:
    return dict(conv.notes)


# --- structure ---------------------------------------------------------------------------


def test_system_message_first() -> None:
    conv = run([user("hello there")])
    assert conv.messages[0] == ChatMessage("system", (TextPart(TEXTS.system),))
    assert roles(conv) == ["system", "user"]


def test_an_empty_system_prompt_sends_no_system_turn() -> None:
    conv = build(
        [user("hello there")],
        texts=Texts(
            system="", image_sets=TEXTS.image_sets, default_question=TEXTS.default_question
        ),
        budget=budget(),
        count_text=words,
    )
    assert roles(conv) == ["user"]
    assert texts_of(conv.messages[0]) == ["hello there"]


def test_images_belong_to_the_turn_that_posted_them() -> None:
    first, second = photo(2), photo(1)
    conv = run([user("first", first), bot("an answer"), user("second", second)])
    assert roles(conv) == ["system", "user", "assistant", "user"]
    assert same_images(conv.messages[1].images, images_of(first))
    assert conv.messages[2].images == []
    assert same_images(conv.messages[3].images, images_of(second))
    # Images before the text of their own turn.
    assert isinstance(conv.messages[3].parts[0], ImagePart)
    assert conv.messages[3].parts[-1] == TextPart("second")


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_newest_text_becomes_the_default_question(text: str) -> None:
    conv = run([user(text, photo())])
    assert texts_of(conv.messages[-1]) == [TEXTS.default_question]


def test_only_the_newest_empty_text_gets_the_default_question() -> None:
    older = photo()
    conv = run([user("", older), bot("answer"), user("and now?")])
    assert texts_of(conv.messages[1]) == []
    assert same_images(conv.messages[1].images, images_of(older))
    assert TEXTS.default_question not in conv.messages[1].text


def test_newest_text_is_stripped() -> None:
    conv = run([user("  is this normal? \n")])
    assert texts_of(conv.messages[-1]) == ["is this normal?"]


# (case id, thread, expected texts of the user turns in order)
AUTHOR_CASES: list[tuple[str, list[DecodedMessage], list[str]]] = [
    (
        "one author: no names",
        [user("a", author="Ann"), bot("x"), user("b", author="Ann")],
        ["a", "b"],
    ),
    (
        "two authors: names",
        [user("a", author="Ann"), bot("x"), user("b", author="Bob")],
        ["Ann: a", "Bob: b"],
    ),
    (
        "default question named too",
        [user("a", author="Ann"), bot("x"), user("", photo(), author="Bob")],
        ["Ann: a", f"Bob: {TEXTS.default_question}"],
    ),
    (
        "anonymous message among two authors",
        [user("a", author="Ann"), user("b", author="Bob"), bot("x"), user("c")],
        ["Ann: a", "Bob: b", "c"],
    ),
    (
        "one author plus an anonymous message",
        [user("a", author="Ann"), bot("x"), user("c")],
        ["a", "c"],
    ),
]


@pytest.mark.parametrize(
    ("name", "thread", "expected"), AUTHOR_CASES, ids=[c[0] for c in AUTHOR_CASES]
)
def test_author_prefix_only_with_several_people(
    name: str, thread: list[DecodedMessage], expected: list[str]
) -> None:
    conv = run(thread)
    user_texts = [t for m in conv.messages if m.role == "user" for t in texts_of(m)]
    assert user_texts == expected


def test_assistant_text_never_named() -> None:
    conv = run([user("a", author="Ann"), bot("reply"), user("b", author="Bob")])
    assert texts_of(conv.messages[2]) == ["reply"]


# (case id, thread roles and texts, expected roles after system, expected texts per message)
MERGE_CASES: list[tuple[str, list[DecodedMessage], list[str], list[list[str]]]] = [
    (
        "alternating kept",
        [user("a"), bot("b"), user("c")],
        ["user", "assistant", "user"],
        [
            ["a"],
            ["b"],
            ["c"],
        ],
    ),
    ("two users merged", [user("a"), user("b")], ["user"], [["a", "b"]]),
    (
        "runs of both roles merged",
        [user("a"), user("b"), bot("c"), bot("d"), user("e")],
        ["user", "assistant", "user"],
        [["a", "b"], ["c", "d"], ["e"]],
    ),
    ("leading answer dropped", [bot("hi"), user("q")], ["user"], [["q"]]),
    ("leading answers dropped", [bot("x"), bot("y"), user("q")], ["user"], [["q"]]),
    (
        "empty older message skipped",
        [user("a"), bot("   "), user("b")],
        ["user"],
        [["a", "b"]],
    ),
]


@pytest.mark.parametrize(
    ("name", "thread", "expected_roles", "expected_texts"),
    MERGE_CASES,
    ids=[c[0] for c in MERGE_CASES],
)
def test_same_role_neighbours_merge(
    name: str,
    thread: list[DecodedMessage],
    expected_roles: list[str],
    expected_texts: list[list[str]],
) -> None:
    conv = run(thread)
    assert roles(conv) == ["system", *expected_roles]
    assert [texts_of(m) for m in conv.messages[1:]] == expected_texts


def test_merged_turns_keep_each_turns_images_before_its_text() -> None:
    a, b = photo(), photo()
    conv = run([user("first", a), user("second", b)])
    parts = conv.messages[1].parts
    assert [type(p) for p in parts] == [ImagePart, TextPart, ImagePart, TextPart]
    assert parts[0].image is images_of(a)[0]  # type: ignore[union-attr]
    assert parts[1] == TextPart("first")
    assert parts[2].image is images_of(b)[0]  # type: ignore[union-attr]
    assert parts[3] == TextPart("second")


@pytest.mark.parametrize(
    "thread",
    [[], [user("q"), bot("a")], [bot("only the bot")]],
    ids=["empty", "newest is an answer", "only an answer"],
)
def test_newest_must_be_a_user_message(thread: list[DecodedMessage]) -> None:
    with pytest.raises(ValueError, match="newest"):
        run(thread)


@pytest.mark.parametrize(("modality", "shown"), [("CT", "CT"), ("MR", "MR"), (None, "imaging")])
def test_series_layout(modality: str | None, shown: str) -> None:
    volume = series(3, modality=modality)
    conv = run([user("where is the lesion?", volume)])
    slices = images_of(volume)
    expected = [
        TextPart(f"Series of 3 {shown} slices"),
        ImagePart(slices[0]),
        TextPart("SLICE 1"),
        ImagePart(slices[1]),
        TextPart("SLICE 2"),
        ImagePart(slices[2]),
        TextPart("SLICE 3"),
        TextPart("where is the lesion?"),
    ]
    parts = conv.messages[-1].parts
    assert len(parts) == len(expected)
    for got, want in zip(parts, expected, strict=True):
        if isinstance(want, ImagePart):
            assert isinstance(got, ImagePart)
            assert got.image is want.image
        else:
            assert got == want


def test_series_question_is_last_even_with_a_plain_file_too() -> None:
    plain, volume = photo(), series(2)
    conv = run([user("compare", plain, volume)])
    parts = conv.messages[-1].parts
    assert parts[-1] == TextPart("compare")
    assert TextPart("Series of 2 CT slices") in parts
    assert same_images(conv.messages[-1].images, images_of(plain, volume))


def test_unlabelled_slices_get_no_label_text() -> None:
    volume = DecodedFile(
        kind="series",
        images=(ModelImage(new_image()), ModelImage(new_image())),
        source_format="dicom",
        modality="CT",
    )
    conv = run([user("q", volume)])
    assert texts_of(conv.messages[-1]) == ["Series of 2 CT slices", "q"]


# --- budget: images ----------------------------------------------------------------------


def test_newest_plain_images_capped_in_order() -> None:
    three, two = photo(3), photo(2)
    conv = run([user("q", three, two)], budget(max_images=4))
    assert same_images(conv.messages[-1].images, images_of(three, two)[:4])
    assert notes(conv)["images_capped"] == {"used": 4, "total": 5}


def test_newest_at_the_cap_is_not_capped() -> None:
    files = photo(2), photo(2)
    conv = run([user("q", *files)], budget(max_images=4))
    assert same_images(conv.messages[-1].images, images_of(*files))
    assert conv.notes == ()


def test_series_slices_are_not_capped() -> None:
    volume, plain = series(6), photo(5)
    conv = run([user("q", volume, plain)], budget(max_images=4))
    assert same_images(conv.messages[-1].images, images_of(volume) + images_of(plain)[:4])
    assert notes(conv)["images_capped"] == {"used": 4, "total": 5}


def test_older_images_beyond_the_cap_dropped_oldest_first() -> None:
    a, b, c, d, newest = photo(), photo(), photo(), photo(), photo()
    thread = [user("one", a, b), bot("x"), user("two", c, d), bot("y"), user("three", newest)]
    conv = run(thread, budget(max_images=3))
    # The cap leaves room for 2 older images next to the newest one: a and b go.
    assert conv.image_count == 3
    assert same_images(conv.messages[1].images, [])
    assert same_images(conv.messages[3].images, images_of(c, d))
    assert same_images(conv.messages[5].images, images_of(newest))
    assert notes(conv) == {"images_left_out": {"count": 2}}
    # Their text stays.
    assert texts_of(conv.messages[1]) == ["one"]


def test_capped_newest_leaves_no_room_for_older_images() -> None:
    old, newest = photo(), photo(5)
    conv = run([user("one", old), bot("x"), user("two", newest)], budget(max_images=4))
    assert same_images(conv.messages[-1].images, images_of(newest)[:4])
    assert conv.image_count == 4
    assert notes(conv) == {
        "images_capped": {"used": 4, "total": 5},
        "images_left_out": {"count": 1},
    }


def test_a_newest_series_leaves_the_image_cap_to_older_photos() -> None:
    old, volume = photo(2), series(6)
    conv = run([user("one", old), bot("x"), user("two", volume)], budget(max_images=3))
    # Slices have their own limit: the older photos still fit under the cap of 3.
    assert same_images(conv.messages[1].images, images_of(old))
    assert "images_left_out" not in notes(conv)


def test_an_older_series_is_not_dropped_for_the_image_cap() -> None:
    volume, newest = series(6), photo(3)
    conv = run([user("one", volume), bot("x"), user("two", newest)], budget(max_images=3))
    assert same_images(conv.messages[1].images, images_of(volume))
    assert "images_left_out" not in notes(conv)


def test_an_image_only_message_whose_images_were_left_out_is_not_sent() -> None:
    a, b, newest = photo(), photo(), photo()
    thread = [user("", a), user("", b), bot("x"), user("three", newest)]
    conv = run(thread, budget(max_images=2))
    # `a` goes for the cap; its message had nothing else and disappears.
    assert roles(conv) == ["system", "user", "assistant", "user"]
    assert all(m.parts for m in conv.messages)
    assert same_images(conv.messages[1].images, images_of(b))


# --- budget: tokens ----------------------------------------------------------------------

# u1 "old question" + 1 image, a1 "old answer", u2 "new question" + 1 image
U1 = 2 + OH + TPI
A1 = 2 + OH
U2 = 2 + OH + TPI


def three_turns() -> tuple[list[DecodedMessage], DecodedFile, DecodedFile]:
    old, new = photo(), photo()
    return [user("old question", old), bot("old answer"), user("new question", new)], old, new


def test_everything_fits() -> None:
    thread, old, new = three_turns()
    total = SYSTEM_TOKENS + U1 + A1 + U2
    conv = run(thread, budget(context=total + 300, max_new=300))
    assert conv.tokens == total
    assert conv.max_new_tokens == 300
    assert conv.notes == ()
    assert same_images(conv.messages[1].images, images_of(old))
    assert same_images(conv.messages[3].images, images_of(new))


def test_tokens_drop_the_oldest_image_before_any_turn() -> None:
    thread, _, new = three_turns()
    without_image = SYSTEM_TOKENS + (U1 - TPI) + A1 + U2
    conv = run(thread, budget(context=without_image + 300, max_new=300))
    assert roles(conv) == ["system", "user", "assistant", "user"]
    assert conv.messages[1].images == []
    assert texts_of(conv.messages[1]) == ["old question"]
    assert same_images(conv.messages[3].images, images_of(new))
    assert conv.tokens == without_image
    assert conv.max_new_tokens == 300
    assert notes(conv) == {"images_left_out": {"count": 1}}


def test_tokens_then_drop_the_oldest_turns() -> None:
    thread = [
        user("first question"),
        bot("first answer"),
        user("second question"),
        bot("second answer"),
        user("third question"),
    ]
    per_turn = 2 + OH
    # Room for the system prompt, the last three turns and the answer.
    conv = run(thread, budget(context=SYSTEM_TOKENS + 3 * per_turn + 300, max_new=300))
    assert roles(conv) == ["system", "user", "assistant", "user"]
    assert [texts_of(m) for m in conv.messages[1:]] == [
        ["second question"],
        ["second answer"],
        ["third question"],
    ]
    assert notes(conv) == {"turns_left_out": {"count": 2}}
    assert conv.max_new_tokens == 300


def test_a_turn_left_out_leaves_no_answer_first() -> None:
    thread, _, new = three_turns()
    # Not even u1 without its image fits: u1 goes; a1 must not open the conversation.
    conv = run(thread, budget(context=SYSTEM_TOKENS + A1 + U2 + 300, max_new=300))
    assert roles(conv) == ["system", "user"]
    assert same_images(conv.messages[1].images, images_of(new))
    # Two messages were left out, and only what is sent is counted.
    assert notes(conv) == {"images_left_out": {"count": 1}, "turns_left_out": {"count": 2}}
    assert conv.tokens == SYSTEM_TOKENS + U2


def test_newest_images_never_dropped_for_tokens() -> None:
    newest = photo(3)
    thread = [user("old"), bot("answer"), user("new", newest)]
    newest_cost = 1 + OH + 3 * TPI
    conv = run(thread, budget(context=SYSTEM_TOKENS + newest_cost + 300, max_new=300))
    assert roles(conv) == ["system", "user"]
    assert same_images(conv.messages[1].images, images_of(newest))
    assert conv.tokens == SYSTEM_TOKENS + newest_cost


# (case id, words in the newest message, max_new_tokens, expected answer or None: TooMuchText)
# The context is 600; the newest alone costs SYSTEM_TOKENS + words + OH.
CONTEXT = 600
FIT_CASES: list[tuple[str, int, int, int | None]] = [
    ("full answer", 10, 300, 300),
    ("answer shrinks", CONTEXT - SYSTEM_TOKENS - OH - 280, 300, 280),
    ("smallest allowed answer", CONTEXT - SYSTEM_TOKENS - OH - 256, 300, 256),
    ("one token short", CONTEXT - SYSTEM_TOKENS - OH - 255, 300, None),
    ("far too long", 5_000, 300, None),
    ("small max_new_tokens: full answer", CONTEXT - SYSTEM_TOKENS - OH - 100, 100, 100),
    ("small max_new_tokens: one short", CONTEXT - SYSTEM_TOKENS - OH - 99, 100, None),
]


@pytest.mark.parametrize(
    ("name", "n_words", "max_new", "expected"), FIT_CASES, ids=[c[0] for c in FIT_CASES]
)
def test_newest_alone_must_leave_room_to_answer(
    name: str, n_words: int, max_new: int, expected: int | None
) -> None:
    thread = [user("older words here"), bot("reply"), user(" ".join(["w"] * n_words))]
    b = budget(context=CONTEXT, max_new=max_new)
    if expected is None:
        with pytest.raises(TooMuchText):
            run(thread, b)
        return
    conv = run(thread, b)
    assert conv.max_new_tokens == expected
    assert conv.tokens + conv.max_new_tokens <= CONTEXT
    assert conv.messages[-1].text == " ".join(["w"] * n_words)


def test_too_many_newest_images_raise_rather_than_drop() -> None:
    thread = [user("q", photo(6))]
    with pytest.raises(TooMuchText):
        run(thread, budget(context=600, max_new=300))


# --- budget: series ----------------------------------------------------------------------

# A 10-slice CT series with the question "what is this" (3 words).
SLICES = 10
SERIES_TURN = SERIES_WORDS + 2 * SLICES + SLICES * TPI + 3 + OH


def series_thread() -> tuple[list[DecodedMessage], DecodedFile]:
    volume = series(SLICES)
    return [user("what is this", volume)], volume


# (case id, model context, expected answer, slices kept); configured context 600
SERIES_CASES: list[tuple[str, int, int, int]] = [
    ("grows to fit", 100_000, 300, SLICES),
    ("grows exactly to fit", SYSTEM_TOKENS + SERIES_TURN + 300, 300, SLICES),
    ("model context shrinks the answer", SYSTEM_TOKENS + SERIES_TURN + 261, 261, SLICES),
    # Not even the shortest answer (256) fits beside all ten: one slice goes, evenly.
    ("model context thins the series", SYSTEM_TOKENS + SERIES_TURN + 255, 300, SLICES - 1),
]


@pytest.mark.parametrize(
    ("name", "model_context", "answer", "kept"), SERIES_CASES, ids=[c[0] for c in SERIES_CASES]
)
def test_series_grows_the_limit_up_to_the_model_context(
    name: str, model_context: int, answer: int, kept: int
) -> None:
    thread, volume = series_thread()
    b = budget(context=600, model_context=model_context, max_new=300, max_images=4)
    conv = run(thread, b)
    dropped = SLICES - kept
    assert conv.tokens == SYSTEM_TOKENS + SERIES_TURN - dropped * (TPI + 2)
    assert conv.max_new_tokens == answer
    sent = conv.messages[-1]
    assert len(sent.images) == kept
    assert {id(i) for i in sent.images} <= {id(i) for i in images_of(volume)}
    labels = [t for t in texts_of(sent) if t.startswith("SLICE")]
    assert labels == [f"SLICE {i}" for i in range(1, kept + 1)]  # numbered as sent
    assert conv.notes == (("slices_used", {"used": kept, "total": SLICES}),)


def test_a_series_that_cannot_fit_at_all_is_refused() -> None:
    thread, _ = series_thread()
    question_alone = SYSTEM_TOKENS + SERIES_WORDS + 3 + OH
    b = budget(context=question_alone + 255, max_new=300)
    with pytest.raises(TooMuchText):
        run(thread, b)


def test_series_growth_makes_no_room_for_older_turns() -> None:
    old = photo()
    volume = series(SLICES)
    thread = [user("earlier", old), bot("answer"), user("what is this", volume)]
    conv = run(thread, budget(context=600, model_context=100_000, max_new=300, max_images=100))
    # The limit grows to fit the series alone: the older image and turns go.
    assert roles(conv) == ["system", "user"]
    assert same_images(conv.messages[-1].images, images_of(volume))
    assert notes(conv) == {
        "slices_used": {"used": SLICES, "total": SLICES},
        "images_left_out": {"count": 1},
        "turns_left_out": {"count": 2},
    }
    assert conv.max_new_tokens == 300
    assert conv.tokens == SYSTEM_TOKENS + SERIES_TURN


def test_no_growth_without_a_series_in_the_newest_message() -> None:
    thread = [user("q", photo(6))]
    with pytest.raises(TooMuchText):
        run(thread, budget(context=600, model_context=100_000, max_new=300))


# --- properties ----------------------------------------------------------------------------

IMAGE = Image.new("RGB", (2, 2))


@st.composite
def threads(draw: st.DrawFn) -> list[DecodedMessage]:
    n = draw(st.integers(min_value=0, max_value=7))
    thread: list[DecodedMessage] = []
    for _ in range(n):
        role: Literal["user", "assistant"] = draw(st.sampled_from(["user", "assistant"]))
        n_words = draw(st.integers(min_value=0, max_value=60))
        files: tuple[DecodedFile, ...] = ()
        if role == "user":
            counts = draw(st.lists(st.integers(min_value=1, max_value=3), max_size=3))
            files = tuple(
                DecodedFile("photo", tuple(ModelImage(IMAGE) for _ in range(c)), "png")
                for c in counts
            )
        author = draw(st.sampled_from(["", "Ann", "Bob"]))
        thread.append(DecodedMessage(role, "w " * n_words, author=author, files=files))
    newest = draw(st.lists(st.integers(min_value=1, max_value=3), max_size=3))
    thread.append(
        DecodedMessage(
            "user",
            "q " * draw(st.integers(min_value=0, max_value=60)),
            files=tuple(
                DecodedFile("photo", tuple(ModelImage(IMAGE) for _ in range(c)), "png")
                for c in newest
            ),
        )
    )
    return thread


@settings(max_examples=300, deadline=None)
@given(
    thread=threads(),
    context=st.integers(min_value=200, max_value=3_000),
    max_images=st.integers(min_value=1, max_value=6),
    max_new=st.integers(min_value=1, max_value=600),
)
def test_any_thread_fits_or_is_refused(
    thread: list[DecodedMessage], context: int, max_images: int, max_new: int
) -> None:
    b = budget(context=context, max_images=max_images, max_new=max_new)
    try:
        conv = run(thread, b)
    except ImagesLeftBehind:
        # Only a question without images of its own, about earlier ones that all had to go.
        assert not thread[-1].files and any(m.files for m in thread)
        return
    except TooMuchText:
        newest = thread[-1]
        newest_images = min(max_images, sum(len(f.images) for f in newest.files))
        n_words = words(newest.text) or words(TEXTS.default_question)
        alone = SYSTEM_TOKENS + n_words + OH + newest_images * TPI
        assert context - alone < min(256, max_new)
        return
    assert conv.messages[0].role == "system"
    chat = [m.role for m in conv.messages[1:]]
    assert chat[0] == "user"
    assert chat[-1] == "user"
    assert all(a != b for a, b in itertools.pairwise(chat))
    assert conv.image_count <= max_images
    assert conv.tokens + conv.max_new_tokens <= context
    assert min(256, max_new) <= conv.max_new_tokens <= max_new
    newest_images = min(max_images, sum(len(f.images) for f in thread[-1].files))
    last_user_images = conv.messages[-1].images
    assert len(last_user_images) >= newest_images


# --- the thread's latest image set -----------------------------------------------------------


def test_a_follow_up_keeps_the_earlier_series_and_grows_for_it() -> None:
    volume = series(SLICES)
    thread = [user("what is this", volume), bot("a CT"), user("and the spleen")]
    conv = run(thread, budget(context=600, model_context=100_000, max_new=300))
    # The series would not fit the configured 600; it stays, the budget grows for it.
    assert roles(conv) == ["system", "user", "assistant", "user"]
    assert same_images(conv.messages[1].images, images_of(volume))
    assert texts_of(conv.messages[-1]) == ["and the spleen"]
    assert conv.tokens == SYSTEM_TOKENS + SERIES_TURN + (2 + OH) + (3 + OH)
    assert notes(conv) == {"slices_used": {"used": SLICES, "total": SLICES}}


def test_only_the_latest_series_is_kept_when_two_do_not_fit() -> None:
    old, new = series(SLICES), series(SLICES)
    thread = [user("first", old), bot("a"), user("second", new), bot("b"), user("compare")]
    room = SYSTEM_TOKENS + SERIES_TURN + 300 + 200  # one series and the turns, not two
    conv = run(thread, budget(context=600, model_context=room, max_new=300))
    sent = [i for m in conv.messages for i in m.images]
    assert same_images(sent, images_of(new))
    assert notes(conv)["images_left_out"] == {"count": SLICES}


def test_no_answer_about_earlier_images_when_none_of_them_fits() -> None:
    thread = [user("look", photo(3)), bot("answer " * 50), user("and now?")]
    # Room for the question and a turn, not for 300 tokens of images.
    with pytest.raises(ImagesLeftBehind):
        run(thread, budget(context=SYSTEM_TOKENS + 2 + OH + 300 + 60, max_new=300))


def test_each_kind_of_set_gets_its_own_instruction() -> None:
    from bot.imaging.types import Intensity, Layout

    kinds = {
        "ct_volume": dict(layout=Layout.VOLUME, intensity=Intensity.CT_WINDOWS, modality="CT"),
        "mr_volume": dict(layout=Layout.VOLUME, intensity=Intensity.MIN_MAX, modality="MR"),
        "cine": dict(layout=Layout.CINE, intensity=Intensity.COLOUR, modality="US"),
        "patches": dict(layout=Layout.PATCHES, intensity=Intensity.COLOUR, modality=None),
    }
    for key, fields in kinds.items():
        texts = Texts(
            system="s",
            image_sets={k: f"<{k} {{count}}>" for k in IMAGE_SET_KEYS},
            default_question="q",
        )
        file = DecodedFile(
            kind="frames",
            images=(ModelImage(new_image()),) * 2,
            source_format="dicom",
            **fields,  # type: ignore[arg-type]
        )
        conv = build([user("q", file)], texts=texts, budget=budget(), count_text=words)
        assert texts_of(conv.messages[-1])[0] == f"<{key} 2>", key


def test_the_servers_image_cap_thins_the_set_and_drops_older_images() -> None:
    old, volume = photo(3), series(SLICES)
    thread = [user("first", old), bot("a"), user("what is this", volume)]
    conv = run(
        thread,
        Budget(
            context_tokens=100_000,
            model_context=100_000,
            max_images=8,
            max_new_tokens=300,
            tokens_per_image=TPI,
            max_request_images=6,
        ),
    )
    assert conv.image_count == 6  # six slices of the ten, evenly spaced; no older photos
    assert notes(conv)["slices_used"] == {"used": 6, "total": SLICES}
    assert notes(conv)["images_left_out"] == {"count": 3}
