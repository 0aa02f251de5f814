"""What the model saw, shown under its answer: one contact sheet of the images it was sent.

After an answer about a CT/MRI series, another image set or DICOM files, the images the
model received (windowed, sampled and labelled as in the prompt) are uploaded as one PNG
into the same thread, so a reader can see what the answer is based on. Photos get none:
the person who asked already sees exactly what was sent.

The sheet is extra. Whatever goes wrong with it (no `files:write`, a rate limit, Slack
down, a drawing bug) is logged with ids only and the answer stands: it never becomes the
question's error notice. It uses slack_sdk's `files_upload_v2`, which makes Slack's
three calls (files.getUploadURLExternal, a POST of the bytes to the URL it returns, no
token sent there, then files.completeUploadExternal with channel_id and thread_ts); the
Web API client retries none of them after an unclear failure (`client.NOT_REPEATABLE`),
so a sheet is never shown twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.imaging.contact_sheet import contact_sheet
from bot.imaging.types import ModelImage
from bot.logs import event
from bot.pipeline.messages import Answer
from bot.slack.deps import Deps
from bot.slack.question.asked import Asked
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code

log = logging.getLogger(__name__)

SHEET_TIMEOUT_S = 60.0  # drawing and all three upload calls; within the shutdown drain
FILENAME = "what-the-model-saw.png"  # fixed: never a shared file's name


async def post_sheet(deps: Deps, asked: Asked, answer: Answer) -> None:
    """Upload the contact sheet of `answer.seen` into the question's thread; never raises."""
    if not deps.settings.contact_sheet or not answer.seen:
        return
    language = asked.language
    title = deps.prompts.text("sheet", "title", language=language, count=len(answer.seen))
    await share_sheet(
        deps.client,
        images=answer.seen,
        channel=asked.route.channel,
        thread_ts=asked.route.thread_ts,
        title=title,
        comment=deps.prompts.text("sheet", "comment", language=language),
        request_id=asked.request_id,
    )


async def share_sheet(
    client: AsyncWebClient,
    *,
    images: Sequence[ModelImage],
    channel: str,
    thread_ts: str,
    title: str,
    comment: str,
    request_id: str,
    timeout_s: float = SHEET_TIMEOUT_S,
) -> bool:
    """Draw the sheet and share it in the thread; False (logged) when that failed."""
    where: dict[str, Any] = {"request_id": request_id, "channel": channel, "images": len(images)}
    try:
        async with asyncio.timeout(timeout_s):
            png = await asyncio.to_thread(contact_sheet, images)  # CPU work, off the loop
            await client.files_upload_v2(
                file=png,
                filename=FILENAME,
                title=title,
                alt_txt=title,
                initial_comment=comment,
                channel=channel,
                thread_ts=thread_ts,
            )
    except SLACK_FAILURES as exc:
        event(log, "sheet_failed", level=logging.WARNING, error=failure_code(exc), **where)
        return False
    except Exception:  # a bug in drawing or in the SDK: the answer still stands
        event(log, "sheet_crashed", level=logging.ERROR, exc_info=True, **where)
        return False
    event(log, "sheet_posted", bytes=len(png), **where)
    return True
