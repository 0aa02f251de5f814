"""A thread read from Slack (`threads.py`) as the pipeline's messages.

Slack is the record: edits and deletions are simply what the thread now says. Text
comes back as Slack stores it (escaped, links wrapped, mentions as ids) and is read as
the plain text a person wrote. The bot's answers are recognised by their message
metadata and contribute only their findings (the `text` field without the disclaimer
the bot adds to it); its status, busy and error messages are left out. What the bot's
posts look like is `bot.slack.webapi.posts`'s to say.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from bot.pipeline.messages import Message, SharedFile, UndecodedMessage
from bot.slack.question.routing import strip_mention
from bot.slack.webapi.posts import (
    Identity,
    answer_findings,
    answer_table,
    is_answer,
    is_ours,
    shown_question,
)

_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]+))?>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(\w+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
SKIPPED_FILE_MODES = frozenset({"tombstone", "hidden_by_limit", "external", "snippet", "post"})


def admitted_only(
    messages: Sequence[dict[str, Any]],
    *,
    admitted: Callable[[str], bool],
    identity: Identity,
    keep: str = "",
) -> list[dict[str, Any]]:
    """The thread without what people the allowlist turns away wrote or shared.

    Their messages (and files) never reach the model, nor do questions of theirs the
    bot shows; the bot's answers and the message at `keep` (the one an allowed person
    picked with the shortcut) stay.
    """

    def author(m: Mapping[str, Any]) -> str | None:
        if (asked := shown_question(m, identity)) is not None:
            return asked[0]
        return None if is_ours(m, identity) or m.get("bot_id") else str(m.get("user") or "")

    def kept(m: Mapping[str, Any]) -> bool:
        if keep and m.get("ts") == keep:
            return True
        who = author(m)
        return who is None or admitted(who)

    return [m for m in messages if kept(m)]


def skipped_files(message: Mapping[str, Any]) -> int:
    """Files of a message that are not uploads the bot can read (links, snippets, posts)."""
    return sum(1 for f in message.get("files") or [] if f.get("mode") in SKIPPED_FILE_MODES)


def clean_text(text: str, *, bot_user_id: str, names: dict[str, str]) -> str:
    """Slack's markup to plain text: bot mention dropped, others named, links unwrapped."""
    text = strip_mention(text, bot_user_id)
    text = _USER.sub(lambda m: "@" + (names.get(m.group(1)) or m.group(2) or "someone"), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SPECIAL.sub(lambda m: "@" + (m.group(2) or m.group(1)).lstrip("@"), text)
    return html.unescape(text).strip()


def authors(messages: Sequence[dict[str, Any]], identity: Identity) -> list[str]:
    """Human authors in order of first appearance."""
    seen: dict[str, None] = {}
    for m in messages:
        if (asked := shown_question(m, identity)) is not None and asked[0]:
            seen.setdefault(asked[0], None)
        elif not is_ours(m, identity) and not m.get("bot_id") and m.get("user"):
            seen.setdefault(str(m["user"]), None)
    return list(seen)


FileOf = Callable[[Mapping[str, Any]], SharedFile]


def to_incoming(
    messages: Sequence[dict[str, Any]],
    *,
    identity: Identity,
    names: dict[str, str],
    file_of: FileOf,
    disclaimers: Sequence[str],
) -> list[UndecodedMessage]:
    """The pipeline's view of a thread: the bot's answers and the humans' messages."""
    incoming: list[UndecodedMessage] = []
    for m in messages:
        if (asked := shown_question(m, identity)) is not None:
            incoming.append(Message("user", asked[1], names.get(asked[0], "")))
            continue
        if is_ours(m, identity):
            if is_answer(m, identity):
                text = answer_findings(str(m.get("text", "")), disclaimers=disclaimers)
                table = answer_table(m)  # a values answer's table: part of what it said
                incoming.append(Message("assistant", f"{text}\n\n{table}" if table else text))
            continue
        if m.get("bot_id") or not m.get("user"):
            continue  # other apps' messages are not part of the conversation
        files = tuple(
            file_of(f) for f in m.get("files") or [] if f.get("mode") not in SKIPPED_FILE_MODES
        )
        text = clean_text(str(m.get("text", "")), bot_user_id=identity.bot_user_id, names=names)
        incoming.append(Message("user", text, names.get(str(m["user"]), ""), files))
    return incoming


NameLookup = Callable[[str], Awaitable[str | None]]


async def speaker_names(user_ids: Sequence[str], lookup: NameLookup) -> dict[str, str]:
    """Display names for the thread's people; "Person N" where a name is unknown."""
    names: dict[str, str] = {}
    for n, user in enumerate(user_ids, start=1):
        names[user] = await lookup(user) or f"Person {n}"
    return names
