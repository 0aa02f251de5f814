"""Posting into a thread exactly once, whatever Slack answers.

A post that fails with a 5xx, a timeout or a dropped connection may still have been
made. Before trying again the thread is read back and the post looked for by its
metadata (request id, kind and part), so an answer is never shown twice and never
lost. Slack refusing the blocks (`msg_blocks_too_long`, `invalid_blocks`) gets the
same message without its Markdown block: the findings are in `text` as well.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import event
from bot.slack.webapi.failures import SLACK_FAILURES, slack_code, unclear
from bot.slack.webapi.posts import DISCLAIMER_BLOCK, Mark

log = logging.getLogger(__name__)

POST_ATTEMPTS = 3
RETRY_PAUSE_S = 1.0
BLOCK_ERRORS = frozenset({"msg_blocks_too_long", "invalid_blocks"})


async def post_all(
    client: AsyncWebClient, *, channel: str, thread_ts: str, messages: list[dict[str, Any]]
) -> list[str]:
    """Post messages into the thread in order, each exactly once; their timestamps."""
    return [
        await post_once(client, channel=channel, thread_ts=thread_ts, message=message)
        for message in messages
    ]


async def post_once(
    client: AsyncWebClient, *, channel: str, thread_ts: str, message: dict[str, Any]
) -> str:
    """Post one message (its metadata names it) and return its ts."""
    mark = Mark.of(message)
    assert mark is not None, "the bot's posts carry their mark"
    failure: BaseException | None = None
    for attempt in range(POST_ATTEMPTS):
        if attempt:
            found = await find_posted(client, channel=channel, thread_ts=thread_ts, mark=mark)
            if found is not None:
                event(log, "post_found_after_failure", channel=channel, attempt=attempt)
                return found
            await asyncio.sleep(RETRY_PAUSE_S * attempt)
        try:
            return await _post(client, channel=channel, thread_ts=thread_ts, message=message)
        except SLACK_FAILURES as exc:
            if not unclear(exc):
                raise
            failure = exc
    assert failure is not None
    raise failure


async def _post(
    client: AsyncWebClient, *, channel: str, thread_ts: str, message: dict[str, Any]
) -> str:
    common: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False}
    try:
        response = await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, **common, **message
        )
    except SlackApiError as exc:
        if slack_code(exc) not in BLOCK_ERRORS:
            raise
        event(log, "blocks_refused", level=logging.WARNING, error=slack_code(exc))
        plain = {**message, "blocks": _without_markdown(message.get("blocks") or [])}
        response = await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, **common, **plain
        )
    return str(response.get("ts"))


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _without_markdown(blocks: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The notes and the disclaimer (as a context line); the findings stay in `text`."""
    kept = [
        {"type": "context", "block_id": DISCLAIMER_BLOCK, "elements": [_mrkdwn(b["text"])]}
        if b.get("type") == "markdown" and b.get("block_id") == DISCLAIMER_BLOCK
        else b
        for b in blocks
    ]
    return [b for b in kept if b.get("type") != "markdown"] or None


async def find_posted(
    client: AsyncWebClient, *, channel: str, thread_ts: str, mark: Mark
) -> str | None:
    """The ts of a message in the thread that carries `mark`, if any."""
    try:
        first = await client.conversations_replies(
            channel=channel, ts=thread_ts, limit=200, include_all_metadata=True
        )
        async for page in first:
            for message in page.get("messages") or []:
                if Mark.of(message) == mark:
                    return str(message["ts"])
    except SLACK_FAILURES:
        return None  # unknown: the caller tries once more, then gives up
    return None
