"""Text the bot did not write never reaches Slack as live markup, however it is chunked."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.slack.webapi.inert import fitting, held_back, inert
from tests.fakes.slack_markup import live_markup

# (case id, what the model or a user wrote, what Slack gets)
CASES: list[tuple[str, str, str]] = [
    ("plain", "No acute findings.", "No acute findings."),
    ("entities", "p < 0.05 & size > 2", "p &lt; 0.05 &amp; size &gt; 2"),
    ("channel", "<!channel> look", "&lt;!channel&gt; look"),
    ("user", "ask <@U0123|bob>", "ask &lt;@U0123|bob&gt;"),
    ("channel link", "see <#C0123>", "see &lt;#C0123&gt;"),
    ("user group", "<!subteam^S1|@doctors>", "&lt;!subteam^S1|@doctors&gt;"),
    ("angle link", "<https://evil.example|report>", "&lt;https://evil.example|report&gt;"),
    ("an escaped sequence stays text", "&lt;!here&gt;", "&amp;lt;!here&amp;gt;"),
    (
        "masked link shows its target",
        "[https://slack.com/signin](https://evil.example/login)",
        "https://slack.com/signin (https://evil.example/login)",
    ),
    ("image", "![scan](https://evil.example/i.png)", "scan (https://evil.example/i.png)"),
    ("empty label", "[](https://evil.example)", "https://evil.example"),
    ("empty target", "[note]()", "note"),
    ("label over two lines", "[a\nb](https://e.example)", "[a\nb] (https://e.example)"),
    ("target with a space", "[a](https://e.example x)", "[a] (https://e.example x)"),
    ("reference definition", "[r]: https://e.example", "[r] : https://e.example"),
    ("brackets without a link", "grade [2] of [4]", "grade [2] of [4]"),
]


@pytest.mark.parametrize(("name", "written", "sent"), CASES, ids=[c[0] for c in CASES])
def test_inert(name: str, written: str, sent: str) -> None:
    assert inert(written) == sent
    assert live_markup(inert(written)) == []


HOSTILE = st.text(alphabet=st.sampled_from(list("[]()<>!&:@#^|\n ab/.")), max_size=80)
ANY_TEXT = st.one_of(HOSTILE, st.text(max_size=80))


@settings(max_examples=400, deadline=None)
@given(text=ANY_TEXT)
@example(text="[a](b](c)")
@example(text="][(a](b)")
def test_nothing_the_escaper_gives_is_live(text: str) -> None:
    assert live_markup(inert(text)) == []


def streamed(pieces: list[str]) -> list[str]:
    """What a stream sends for text arriving in `pieces`: each up to where it may be cut."""
    sent, pending = [], ""
    for piece in pieces:
        pending += piece
        cut = held_back(pending)
        sent.append(inert(pending[:cut]))
        pending = pending[cut:]
    return [*sent, inert(pending)]


@st.composite
def chunked(draw: st.DrawFn) -> list[str]:
    text = draw(ANY_TEXT)
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=12)))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@settings(max_examples=400, deadline=None)
@given(pieces=chunked())
@example(pieces=["x]", "[(a](b)"])
@example(pieces=["a!", "[x](y)"])
@example(pieces=["<!chan", "nel> [https://a.example](https://e", "vil.example/login)"])
def test_a_stream_shows_what_the_whole_text_shows(pieces: list[str]) -> None:
    sent = streamed(pieces)
    assert "".join(sent) == inert("".join(pieces))
    assert live_markup("".join(sent)) == []


@given(text=ANY_TEXT, room=st.integers(0, 200))
def test_what_fits_fits(text: str, room: int) -> None:
    assert len(inert(text[: fitting(text, room)])) <= room
