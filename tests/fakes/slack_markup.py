"""What Slack would render as live markup in the bot's posts: the oracle of hostile-output tests.

Slack reads these as markup (docs.slack.dev/messaging/formatting-message-text: control
sequences are `<…>`: `<@U…>`, `<#C…>`, `<!here>`, `<!channel>`, `<!everyone>`,
`<!subteam^…>`, `<url|label>`; `&lt;`, `&gt;` and `&amp;` are the escaped characters,
shown as text) and the `markdown` block and streamed `markdown_text` read standard
Markdown (docs.slack.dev/reference/block-kit/blocks/markdown-block: "Links
`[my text](https://www.google.com)`", images shown as links). The oracle is generous:
any `<…>` group, any `](` (an inline link or image, whatever its label spans; CommonMark's
link text is followed "immediately" by the parenthesis) and any `]:` (a reference
definition that a bare `[label]` would use) counts as live.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_CONTROL = re.compile(r"<[^<>\s][^<>]*>")
_LINK = re.compile(r"\]\(|\]:")


def live_markup(text: str) -> list[str]:
    """The live control sequences and Markdown links in one markdown or mrkdwn text."""
    found = [m.group(0) for m in _CONTROL.finditer(text)]
    for m in _LINK.finditer(text):
        start = text.rfind("[", 0, m.start())
        found.append(text[max(start, 0) : m.end() + 40])
    return found


def rendered_texts(message: dict[str, Any]) -> Iterator[str]:
    """The texts Slack renders as markup for one stored message.

    With blocks, `text` is only the notification fallback; without, `text` is mrkdwn.
    """
    blocks = message.get("blocks") or []
    if not blocks:
        yield str(message.get("text") or "")
    for block in blocks:
        if block.get("type") == "markdown":
            yield str(block.get("text") or "")
        elif isinstance(block.get("text"), dict) and block["text"].get("type") == "mrkdwn":
            yield str(block["text"].get("text") or "")
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") == "mrkdwn":
                yield str(element.get("text") or "")
