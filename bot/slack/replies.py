"""Answers and notices as Slack messages, within Slack's limits.

An answer is one or more messages: the findings as a `markdown` block (split at
paragraph, line or word boundaries so nothing is cut), then on the last message the
bot's notes and the fixed disclaimer as their own blocks. The `text` field carries the
findings only, so the thread can be read back as the conversation later; metadata
marks answers and notices (ids and counts only: metadata is visible workspace-wide).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.prompts import Prompts
from bot.slack.history import ANSWER_EVENT, NOTICE_EVENT
from bot.thread import Answer

MARKDOWN_LIMIT = 11_000  # Slack: 12,000 markdown characters per message, with room to spare
CONTEXT_LIMIT = 2_900  # text of one context element
FENCE = "```"


def _cut_point(text: str, limit: int) -> int:
    """Where to cut `text` (longer than `limit`): a paragraph, line or word break."""
    for sep in ("\n\n", "\n", " "):
        at = text.rfind(sep, 0, limit)
        if at > limit // 2:
            return at + len(sep)
    cut = limit
    while cut > 0 and text[cut - 1] == "`" == text[cut]:  # never inside a code fence
        cut -= 1
    return cut or limit


def split_markdown(text: str, limit: int = MARKDOWN_LIMIT) -> list[str]:
    """Chunks of at most `limit` characters whose concatenation is `text`.

    A chunk that ends inside a code fence closes it, and the next reopens it, so each
    message renders on its own; that is the only text added.
    """
    chunks: list[str] = []
    rest = text
    reopen = ""
    budget = limit - 2 * (len(FENCE) + 1)  # room to close and reopen a fence
    while rest:
        piece = (
            rest
            if len(reopen) + len(rest) <= limit
            else rest[: max(1, _cut_point(rest, max(1, budget - len(reopen))))]
        )
        rest = rest[len(piece) :]
        chunk = reopen + piece
        inside = chunk.count(FENCE) % 2 == 1
        if inside and rest:
            chunk = chunk.rstrip("\n") + "\n" + FENCE
        reopen = FENCE + "\n" if inside and rest else ""
        chunks.append(chunk)
    return chunks or [""]


def _context(text: str, block_id: str) -> dict[str, Any]:
    return {
        "type": "context",
        "block_id": block_id,
        "elements": [{"type": "mrkdwn", "text": text[:CONTEXT_LIMIT]}],
    }


def answer_messages(answer: Answer, *, prompts: Prompts) -> list[dict[str, Any]]:
    """chat.postMessage arguments for an answer, in order."""
    findings = answer.findings or ""
    chunks = split_markdown(findings) if findings else []
    messages: list[dict[str, Any]] = []
    for i, chunk in enumerate(chunks):
        messages.append(
            {
                "text": chunk,
                "blocks": [{"type": "markdown", "block_id": f"findings-{i + 1}", "text": chunk}],
                "metadata": {
                    "event_type": ANSWER_EVENT,
                    "event_payload": {"part": i + 1, "parts": len(chunks)},
                },
            }
        )
    tail: list[dict[str, Any]] = [
        _context(prompts.text("format", "note", note=note), f"note-{n}")
        for n, note in enumerate(answer.notes, start=1)
    ]
    tail.append(_context(prompts.disclaimer, "disclaimer"))
    if messages:
        messages[-1]["blocks"].extend(tail)
    else:  # no findings (an empty answer): the notes say so; not part of the conversation
        messages.append(
            {
                "text": "\n".join(answer.notes) or prompts.disclaimer,
                "blocks": tail,
                "metadata": {"event_type": NOTICE_EVENT, "event_payload": {"kind": "empty"}},
            }
        )
    return messages


def notice_message(text: str, *, kind: str) -> dict[str, Any]:
    """chat.postMessage arguments for an error or busy notice."""
    return {
        "text": text,
        "blocks": [
            {"type": "section", "block_id": "notice", "text": {"type": "mrkdwn", "text": text}}
        ],
        "metadata": {"event_type": NOTICE_EVENT, "event_payload": {"kind": kind}},
    }


async def post_all(
    client: AsyncWebClient, *, channel: str, thread_ts: str, messages: list[dict[str, Any]]
) -> list[str]:
    """Post messages into the thread in order; the timestamps of those posted."""
    posted: list[str] = []
    for message in messages:
        response = await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, **message
        )
        posted.append(str(response.get("ts")))
    return posted
