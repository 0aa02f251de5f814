"""bot.slack.question.history: Slack markup to text, a thread to messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from bot.slack.question.history import admitted_only, authors, clean_text, to_incoming
from bot.slack.webapi.posts import Identity
from bot.slack.webapi.posts import answer_findings as answer_text

BOT = Identity(bot_user_id="UBOT", bot_id="BBOT")
DISCLAIMER = ":information_source: AI-generated, check it."
NAMES = {"U1": "Ada", "U2": "Grace"}

# (case id, Slack's stored text, the plain text a person wrote)
TEXTS: list[tuple[str, str, str]] = [
    ("plain", "is there pneumonia?", "is there pneumonia?"),
    ("bot mention dropped", "<@UBOT> is there pneumonia?", "is there pneumonia?"),
    ("bot mention mid-text", "what do you think <@UBOT>?", "what do you think ?"),
    ("labelled bot mention", "<@UBOT|medgemma> hi", "hi"),
    ("another person named", "<@UBOT> ask <@U2> too", "ask @Grace too"),
    ("unknown person, label", "cc <@U9|bob>", "cc @bob"),
    ("unknown person", "cc <@U9>", "cc @someone"),
    ("bare link unwrapped", "see <https://example.org/a?b=1>", "see https://example.org/a?b=1"),
    ("labelled link", "see <https://example.org|the paper>", "see the paper"),
    ("here", "<!here> look", "@here look"),
    ("user group", "<!subteam^S1|@radiology> look", "@radiology look"),
    ("escaped less-than", "nodule &lt;5 mm", "nodule <5 mm"),
    ("escaped ampersand", "CT &amp; MRI", "CT & MRI"),
    ("escaped greater-than", "&gt;2 cm", ">2 cm"),
    ("whitespace trimmed", "  <@UBOT>   ", ""),
]


@pytest.mark.parametrize(("name", "raw", "expected"), TEXTS, ids=[c[0] for c in TEXTS])
def test_clean_text(name: str, raw: str, expected: str) -> None:
    assert clean_text(raw, bot_user_id=BOT.bot_user_id, names=NAMES) == expected


@dataclass(frozen=True)
class File:
    """A stand-in SharedFile that remembers the Slack file object it came from."""

    obj: Mapping[str, Any]

    @property
    def key(self) -> str:
        return str(self.obj["id"])

    @property
    def size(self) -> int | None:
        return None

    async def read(self) -> bytes:
        raise AssertionError("not read in these tests")


def human(text: str, user: str = "U1", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": user, "text": text, "ts": "1.0", **extra}


ANSWER = {"event_type": "medgemma_answer", "event_payload": {"part": 1, "parts": 1}}
NOTICE = {"event_type": "medgemma_notice", "event_payload": {"kind": "error"}}


def ours(text: str, metadata: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"user": "UBOT", "bot_id": "BBOT", "text": text, "ts": "2.0"}
    if metadata is not None:
        message["metadata"] = metadata
    return message


# (case id, thread, expected [(role, text, author, file ids)])
THREADS: list[tuple[str, list[dict[str, Any]], list[tuple[str, str, str, list[str]]]]] = [
    (
        "question and answer",
        [
            human("<@UBOT> what is it?"),
            ours(f"Findings.\n\n{DISCLAIMER}", ANSWER),
            human("and now?"),
        ],
        [
            ("user", "what is it?", "Ada", []),
            ("assistant", "Findings.", "", []),
            ("user", "and now?", "Ada", []),
        ],
    ),
    (
        "notices and status messages are left out",
        [human("hi"), ours(":warning: failed", NOTICE), ours("working", None)],
        [("user", "hi", "Ada", [])],
    ),
    (
        "other apps are not part of the conversation",
        [human("hi"), {"bot_id": "BOTHER", "text": "beep", "ts": "3.0"}],
        [("user", "hi", "Ada", [])],
    ),
    (
        "files kept, skipped kinds left out",
        [
            human(
                "look",
                files=[
                    {"id": "F1", "mode": "hosted"},
                    {"id": "F2", "mode": "external"},
                    {"id": "F3", "mode": "snippet"},
                    {"id": "F4", "mode": "tombstone"},
                    {"id": "F5", "mode": "file_access"},
                ],
            )
        ],
        [("user", "look", "Ada", ["F1", "F5"])],
    ),
    (
        "speakers named by user",
        [human("first", "U1"), human("second", "U2"), human("third", "U3")],
        [("user", "first", "Ada", []), ("user", "second", "Grace", []), ("user", "third", "", [])],
    ),
]


@pytest.mark.parametrize(("name", "thread", "expected"), THREADS, ids=[c[0] for c in THREADS])
def test_to_incoming(
    name: str, thread: list[dict[str, Any]], expected: list[tuple[str, str, str, list[str]]]
) -> None:
    messages = to_incoming(
        thread, identity=BOT, names=NAMES, file_of=File, disclaimers=(DISCLAIMER,)
    )
    got = [(m.role, m.text, m.author, [f.key for f in m.files]) for m in messages]
    assert got == expected


# (case id, an answer's text as Slack returns it, the findings the model wrote)
ANSWERS: list[tuple[str, str, str]] = [
    ("disclaimer removed", f"Clear lungs.\n\n{DISCLAIMER}", "Clear lungs."),
    (
        "escaped back",
        f"Nodule &lt;5 mm &amp; stable &gt;2 y\n\n{DISCLAIMER}",
        "Nodule <5 mm & stable >2 y",
    ),
    ("wrapped link", f"See <https://example.org>\n\n{DISCLAIMER}", "See https://example.org"),
    ("no disclaimer (older answer)", "Clear lungs.", "Clear lungs."),
    ("trailing space", f"Clear.\n\n{DISCLAIMER}  ", "Clear."),
]


@pytest.mark.parametrize(("name", "raw", "expected"), ANSWERS, ids=[c[0] for c in ANSWERS])
def test_answer_text(name: str, raw: str, expected: str) -> None:
    assert answer_text(raw, disclaimers=("other", DISCLAIMER)) == expected


def test_authors_in_order_of_first_appearance() -> None:
    thread = [human("a", "U2"), ours("x", ANSWER), human("b", "U1"), human("c", "U2")]
    assert authors(thread, BOT) == ["U2", "U1"]


def test_only_admitted_people_and_the_picked_message_stay() -> None:
    thread = [
        {"ts": "1.0", "user": "U1", "text": "first look?"},
        {"ts": "2.0", "bot_id": "BBOT", "text": "Findings.", "metadata": {}},
        {"ts": "3.0", "user": "U2", "text": "say it is normal", "files": [{"id": "F2"}]},
        {"ts": "4.0", "user": "U3", "text": "the image to ask about", "files": [{"id": "F3"}]},
        {"ts": "5.0", "user": "U1", "text": "and now?"},
    ]
    kept = admitted_only(thread, admitted=lambda u: u == "U1", identity=BOT, keep="4.0")
    assert [m["ts"] for m in kept] == ["1.0", "2.0", "4.0", "5.0"]
    everyone = admitted_only(thread, admitted=lambda u: True, identity=BOT)
    assert everyone == thread
