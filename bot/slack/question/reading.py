"""Which Slack messages a question is about, read with as few calls as possible.

- A question that starts a thread is answered from its event alone: no read.
- A reply in a thread reads the thread once (`threads.py`: a few calls at most, a long
  thread's first message and its newest replies); the question itself is the thread's
  copy when the read already has it, else the event's.
  Questions of one thread are answered in turn, so the read also holds the answers to
  the questions before this one, even those posted after it was asked.
- In a DM, a top-level question without files, within MEDGEMMA_DM_CASE_MINUTES of the
  same person's last image, is about that image: the image's thread comes first. A DM
  image sent without text waits up to MEDGEMMA_DM_WAIT_S for its question; when one
  follows, the image is answered with it and not on its own. "new case" at the start
  of a message starts afresh.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import event
from bot.slack.deps import Deps
from bot.slack.question import threads
from bot.slack.question.routing import Route
from bot.slack.webapi.posts import is_answer

log = logging.getLogger(__name__)

Raw = dict[str, Any]
_NEW_CASE = re.compile(r"^\s*(?:<@[A-Z0-9]+>\s*)?new case\b", re.IGNORECASE)
LOOKBACK_MESSAGES = 20


@dataclass(frozen=True)
class Read:
    """The messages a question is answered from; `left_out`: a long thread's middle."""

    messages: list[Raw]
    left_out: bool = False


async def read_question(deps: Deps, route: Route) -> Read | None:
    """The messages to answer from, oldest first, the question last.

    None when the question is answered together with the next message instead (a DM
    image followed by its question).
    """
    question = dict(route.message)
    if route.question:
        return Read(await _about_message(deps, route, question))
    if route.in_dm and route.top_level:
        if _has_files(question) and not _text(question):
            return None if await _question_follows(deps, route) else Read([question])
        return Read([*await _dm_case_before(deps, route, question), question])
    if route.top_level:
        return Read([question])
    read = await threads.read_thread(deps.client, channel=route.channel, thread_ts=route.thread_ts)
    return Read(await _in_thread(deps, route, read.messages), left_out=read.left_out)


async def _in_thread(deps: Deps, route: Route, thread: list[Raw]) -> list[Raw]:
    """A reply's thread: what came before it, answers posted since, the question last."""
    question = dict(route.message)
    asked_at = float(route.ts)
    earlier = [m for m in thread if float(str(m.get("ts"))) < asked_at]
    # Questions of a thread are answered in turn: an answer posted after this question
    # was asked answers an earlier one, and belongs before it.
    answered_since = [
        m for m in thread if float(str(m.get("ts"))) > asked_at and is_answer(m, deps.identity)
    ]
    newest = next((m for m in thread if m.get("ts") == route.ts), question)
    prefix = []
    if route.in_dm and earlier and earlier[0].get("ts") == route.thread_ts:
        prefix = await _dm_case_before(deps, route, earlier[0])
    return [*prefix, *earlier, *answered_since, newest]


async def _about_message(deps: Deps, route: Route, target: Raw) -> list[Raw]:
    """A shortcut's question: the message's thread up to it, the message, the question."""
    thread = [target]
    if not route.top_level:
        read = await threads.fetch_thread(
            deps.client, channel=route.channel, thread_ts=route.thread_ts, until_ts=route.ts
        )
        thread = read if read and read[-1].get("ts") == route.ts else [*read, target]
    asked = {"type": "message", "user": route.user, "text": route.question, "ts": route.ts}
    return [*thread, asked]


def _has_files(message: Raw) -> bool:
    return bool(message.get("files"))


def _text(message: Raw) -> str:
    return str(message.get("text") or "").strip()


async def _question_follows(deps: Deps, route: Route) -> bool:
    """Wait for the person's question; True when they wrote one after the image."""
    wait_s = deps.settings.dm_wait_s
    await deps.arrivals.wait(route.channel, route.user, timeout_s=wait_s)
    later = await _history(deps.client, channel=route.channel, oldest=route.ts)
    for message in later:
        top_level = message.get("thread_ts") in (None, message.get("ts"))
        same_person = message.get("user") == route.user and top_level
        if same_person and message.get("ts") != route.ts and _text(message):
            event(log, "dm_image_joined_question", channel=route.channel, message_ts=route.ts)
            return True
    return False


async def _dm_case_before(deps: Deps, route: Route, root: Raw) -> list[Raw]:
    """The person's last image (with its thread) when `root` is a question about it."""
    if _has_files(root) or _NEW_CASE.match(_text(root)):
        return []
    window_s = deps.settings.dm_case_minutes * 60
    root_ts = float(str(root.get("ts")))
    for message in await _history(deps.client, channel=route.channel, latest=str(root["ts"])):
        if root_ts - float(str(message.get("ts"))) > window_s:
            break
        if message.get("user") == route.user and _NEW_CASE.match(_text(message)):
            break  # the person started afresh after that image
        if message.get("user") == route.user and _has_files(message):
            if not message.get("reply_count"):
                return [message]
            return await threads.fetch_thread(
                deps.client, channel=route.channel, thread_ts=str(message["ts"]), until_ts=route.ts
            )
    return []


async def _history(
    client: AsyncWebClient, *, channel: str, latest: str | None = None, oldest: str | None = None
) -> list[Raw]:
    """Recent top-level messages of a DM, newest first (one page)."""
    bounds = {"latest": latest} if latest else {"oldest": oldest}
    response = await client.conversations_history(
        channel=channel, limit=LOOKBACK_MESSAGES, inclusive=False, **bounds
    )
    return [m for m in response.get("messages") or [] if isinstance(m, dict)]
