"""Text the bot did not write, made inert before it reaches Slack as markup.

The model's answers (which anyone in a thread can steer, also through text inside an
image), the question typed into the shortcut's modal and the notes reach Slack in
`markdown` blocks, streamed `markdown_text` and mrkdwn, where `<!channel>`, `<!here>`,
`<!everyone>`, `<@U…>`, `<#C…>`, `<!subteam^…>` and `<url|label>` are live control
sequences and `[label](url)` is a masked link ("Links", docs.slack.dev/reference/
block-kit/blocks/markdown-block; images `![alt](url)` become links too). So:

- `&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;`, as Slack's "Formatting message
  text" page says for every character that does not start a control sequence;
- a masked link becomes `label (url)`: the target in plain sight, never behind a label;
- any other `](` or `]:` (a link whose label spans lines, a reference definition that
  `[label]` would point at) is broken by a space, so no link survives in another form.

A stream sends text as it comes. `held_back` says where an unfinished `[label](url`
(or a trailing `]` or `!`) starts: text is sent only up to there, and the rest when it
completes or the answer ends. Text cut there gives the same inert text however it was
chunked: `inert(a) + inert(b) == inert(a + b)` whenever `a` ends at such a point.
"""

from __future__ import annotations

import re

_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_URL = r"[^\s()\[\]<>]"
_MASKED = re.compile(rf"!?\[([^\[\]\n]*)\]\(({_URL}*)\)")
_UNFINISHED = re.compile(rf"!?\[[^\[\]\n]*(?:\](?:\({_URL}*)?)?\Z")
_LINK_PAIR = re.compile(r"\](?=[(:])")
# What one character may become at most: an entity, or `]` and the space after it.
_GROWTH = {**{char: len(entity) for char, entity in _ENTITIES}, "]": 2}


def escape(text: str) -> str:
    """`&`, `<` and `>` as Slack's entities: no control sequence can start."""
    for char, entity in _ENTITIES:
        text = text.replace(char, entity)
    return text


def _unmasked(match: re.Match[str]) -> str:
    label, url = match[1], match[2]
    if not url:
        return label
    return f"{label} ({url})" if label.strip() else url


def inert(text: str) -> str:
    """`text` for a markdown surface: no live mention, control sequence or masked link."""
    shown = _MASKED.sub(_unmasked, text)
    return escape(_LINK_PAIR.sub("] ", shown))


def held_back(text: str) -> int:
    """Where the part of `text` that must wait for more starts (len(text): none).

    An unfinished masked link waits until it is finished or clearly is not one (a
    newline, another bracket, a space in its URL); a trailing `]` or `!` waits for the
    character after it.
    """
    unfinished = _UNFINISHED.search(text)
    cut = unfinished.start() if unfinished is not None else len(text)
    while cut and text[cut - 1] in "]!":
        cut -= 1
    return cut


def fitting(text: str, room: int) -> int:
    """How many characters of `text` fit in `room` characters once inert (at most)."""
    used = 0
    for n, char in enumerate(text):
        used += _GROWTH.get(char, 1)
        if used > room:
            return n
    return len(text)
