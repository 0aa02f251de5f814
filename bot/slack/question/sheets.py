"""What the model saw, shown under its answer: a contact sheet of the images it was sent,
or the image a "where is" answer is about with the model's boxes drawn on it.

After an answer about a CT/MRI series, another image set or DICOM files, the images the
model received (windowed, sampled and labelled as in the prompt) are uploaded as one PNG
into the same thread, so a reader can see what the answer is based on. Photos get none:
the person who asked already sees exactly what was sent.

The sheet is extra. Whatever goes wrong with it (no `files:write`, a rate limit, Slack
down, a drawing bug) is logged with ids only and the answer stands: it never becomes the
question's error notice. Either image goes up through slack_sdk's `files_upload_v2`,
which makes Slack's three calls (files.getUploadURLExternal, a POST of the bytes to the
URL it returns, no token sent there, then files.completeUploadExternal with channel_id
and thread_ts), in memory, never written to disk; the
Web API client retries none of them after an unclear failure (`client.NOT_REPEATABLE`),
so a sheet is never shown twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.imaging.boxes import draw_boxes
from bot.imaging.contact_sheet import contact_sheet
from bot.imaging.types import ModelImage
from bot.logs import event
from bot.pipeline.messages import Answer
from bot.slack.deps import Deps
from bot.slack.question.asked import Asked
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code
from bot.slack.webapi.inert import inert

log = logging.getLogger(__name__)

SHEET_TIMEOUT_S = 60.0  # drawing and all three upload calls; within the shutdown drain
FILENAME = "what-the-model-saw.png"  # fixed: never a shared file's name
BOXES_FILENAME = "where-the-model-placed-it.png"


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


async def post_boxes(deps: Deps, asked: Asked, answer: Answer) -> None:
    """Upload a localisation answer's film with its boxes into the thread; never raises.

    This image is part of the answer (its note points at it), so it does not depend on
    MEDGEMMA_CONTACT_SHEET.
    """
    located = answer.located
    if located is None:
        return
    language = asked.language
    count = len(located.boxes)
    await share_png(
        deps.client,
        render=functools.partial(draw_boxes, located.image.image, located.boxes),
        filename=BOXES_FILENAME,
        channel=asked.route.channel,
        thread_ts=asked.route.thread_ts,
        title=deps.prompts.text("sheet", "boxes_title", language=language, count=count),
        comment=deps.prompts.text("sheet", "boxes_comment", language=language),
        request_id=asked.request_id,
        counts={"images": 1, "boxes": count},
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
    return await share_png(
        client,
        render=functools.partial(contact_sheet, images),
        filename=FILENAME,
        channel=channel,
        thread_ts=thread_ts,
        title=title,
        comment=comment,
        request_id=request_id,
        timeout_s=timeout_s,
        counts={"images": len(images)},
    )


async def share_png(
    client: AsyncWebClient,
    *,
    render: Callable[[], bytes],
    filename: str,
    channel: str,
    thread_ts: str,
    title: str,
    comment: str,
    request_id: str,
    counts: Mapping[str, int],
    timeout_s: float = SHEET_TIMEOUT_S,
) -> bool:
    """Draw a PNG in memory and share it in the thread; False (logged) when that failed.

    `counts` (images, boxes) go to the log with the ids: never names or content.
    """
    where: dict[str, Any] = {"request_id": request_id, "channel": channel, **counts}
    try:
        async with asyncio.timeout(timeout_s):
            png = await asyncio.to_thread(render)  # CPU work, off the loop
            await client.files_upload_v2(
                file=png,
                filename=filename,
                title=title,
                alt_txt=title,
                initial_comment=inert(comment),  # mrkdwn: no catalog's markup goes live
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
