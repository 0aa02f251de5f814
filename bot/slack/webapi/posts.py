"""The bot's own posts as Slack keeps them: who posted, what the metadata says, the layout.

Every writer (whole answers, streams, notices, the shortcut's copy of a question) and
every reader (the thread read back, posting exactly once, recovery after a crash) goes
through this module, so the format has one owner:

- metadata: an event type (answer, notice, question) and a payload of ids and counts
  only, since message metadata is visible workspace-wide (`Mark`);
- block ids: `findings-N`, `note-N`, `disclaimer`, `feedback` on answers, `notice` on
  notices, `asked` and `question` on a shown question;
- `text`: an answer's findings then the disclaimer, which reading back removes again.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ANSWER_EVENT = "medgemma_answer"
NOTICE_EVENT = "medgemma_notice"
QUESTION_EVENT = "medgemma_question"  # a question asked through the shortcut, shown

FINDINGS_BLOCK = "findings-{n}"
NOTE_BLOCK = "note-{n}"
TABLE_BLOCK = "values"
DISCLAIMER_BLOCK = "disclaimer"
FEEDBACK_BLOCK = "feedback"
NOTICE_BLOCK = "notice"
ASKED_BLOCK = "asked"
QUESTION_BLOCK = "question"
QUOTE = "> "  # how a shown question is quoted

Post = Mapping[str, Any]  # a message as conversations.replies returns it
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]+))?>")


@dataclass(frozen=True)
class Identity:
    """Who the bot is in this workspace (auth.test) and which app it is (bots.info)."""

    bot_user_id: str
    bot_id: str
    team_id: str = ""
    app_id: str = ""  # "" when Slack did not say (bots.info needs users:read)
    enterprise_id: str = ""
    org_install: bool = False  # installed for a whole Enterprise Grid org


def is_ours(message: Post, identity: Identity) -> bool:
    """A message posted by this bot."""
    return message.get("bot_id") == identity.bot_id or message.get("user") == identity.bot_user_id


@dataclass(frozen=True)
class Mark:
    """What the metadata of one of the bot's posts says: ids, kinds and counts only."""

    event_type: str
    request_id: str = ""
    part: int | None = None  # an answer's part, 1-based, of `parts`
    parts: int | None = None
    kind: str | None = None  # a notice's kind: error, busy, progress, deleted...
    user: str = ""  # who asked a shown question

    @classmethod
    def answer(cls, request_id: str, *, part: int = 1, parts: int = 1) -> Mark:
        """Part `part` of `parts` of an answer."""
        return cls(ANSWER_EVENT, request_id, part=part, parts=parts)

    @classmethod
    def notice(cls, kind: str, request_id: str = "") -> Mark:
        """A notice (an error, busy, a progress placeholder, a stream's last line)."""
        return cls(NOTICE_EVENT, request_id, kind=kind)

    @classmethod
    def question(cls, user: str) -> Mark:
        """The bot's copy of a question asked through the shortcut."""
        return cls(QUESTION_EVENT, user=user)

    @property
    def payload(self) -> dict[str, Any]:
        """The metadata's event_payload (the fields this kind of post carries)."""
        if self.event_type == ANSWER_EVENT:
            return {"request_id": self.request_id, "part": self.part, "parts": self.parts}
        if self.event_type == QUESTION_EVENT:
            return {"user": self.user}
        kind = {"kind": self.kind}
        return kind | {"request_id": self.request_id} if self.request_id else kind

    @property
    def metadata(self) -> dict[str, Any]:
        """chat.postMessage's `metadata` argument."""
        return {"event_type": self.event_type, "event_payload": self.payload}

    @classmethod
    def of(cls, message: Post) -> Mark | None:
        """The mark a message carries (read back with `include_all_metadata`), if any."""
        metadata = message.get("metadata") or {}
        event_type = metadata.get("event_type")
        if event_type not in (ANSWER_EVENT, NOTICE_EVENT, QUESTION_EVENT):
            return None
        payload = metadata.get("event_payload") or {}
        part, parts = payload.get("part"), payload.get("parts")
        return cls(
            str(event_type),
            request_id=str(payload.get("request_id") or ""),
            part=part if isinstance(part, int) else None,
            parts=parts if isinstance(parts, int) else None,
            kind=str(payload["kind"]) if payload.get("kind") is not None else None,
            user=str(payload.get("user") or ""),
        )


def mark_of(message: Post, identity: Identity) -> Mark | None:
    """The mark of one of this bot's posts; None for anyone else's message."""
    return Mark.of(message) if is_ours(message, identity) else None


def is_answer(message: Post, identity: Identity) -> bool:
    """One of this bot's answers (not a status, busy or error message)."""
    mark = mark_of(message, identity)
    return mark is not None and mark.event_type == ANSWER_EVENT


def posts_of(messages: Sequence[Post], request_id: str) -> list[Post]:
    """The posts made for one request (found by the request id in their metadata)."""
    return [
        m for m in messages if (mark := Mark.of(m)) is not None and mark.request_id == request_id
    ]


def replied(posts: Sequence[Post]) -> bool:
    """Whether a request's posts hold a complete answer or a notice the asker can act on."""
    marks = [mark for post in posts if (mark := Mark.of(post)) is not None]
    if any(m.event_type == NOTICE_EVENT and m.kind != "progress" for m in marks):
        return True
    answer = [m for m in marks if m.event_type == ANSWER_EVENT]
    total = next((m.parts for m in answer if m.parts is not None), None)
    return total is not None and len({m.part for m in answer}) == total


def answer_findings(text: str, *, disclaimers: Sequence[str]) -> str:
    """An answer's findings as the model wrote them: its `text` unescaped, disclaimer off."""
    plain = html.unescape(_LINK.sub(lambda m: m.group(2) or m.group(1), text)).rstrip()
    for disclaimer in disclaimers:
        if plain.endswith(disclaimer):
            return plain[: -len(disclaimer)].rstrip()
    return plain


def answer_table(message: Post) -> str:
    """An answer's values table as Markdown rows ("" without one), for reading it back.

    The cells are `raw_text`, shown as typed: what the model read and the bot checked.
    """
    blocks = message.get("blocks") or []
    rows = next((b.get("rows") or [] for b in blocks if b.get("block_id") == TABLE_BLOCK), [])
    lines = ["| " + " | ".join(str(c.get("text", "")) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def shown_question(message: Post, identity: Identity) -> tuple[str, str] | None:
    """(asker's id, question) of the bot's copy of a shortcut question; None for others."""
    mark = mark_of(message, identity)
    if mark is None or mark.event_type != QUESTION_EVENT:
        return None
    blocks = message.get("blocks") or []
    quoted = next((b.get("text", "") for b in blocks if b.get("block_id") == QUESTION_BLOCK), "")
    lines = [line.removeprefix(QUOTE.strip()).removeprefix(" ") for line in quoted.split("\n")]
    return mark.user, html.unescape("\n".join(lines).strip())  # shown inert: entities
