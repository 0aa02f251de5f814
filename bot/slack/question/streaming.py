"""An answer streamed into its thread as it is generated, or posted whole where it can't be.

Findings stream through chat.startStream / appendStream / stopStream: the first text
starts the stream, later text is appended at most once per `FLUSH_S`, and stopping
adds the disclaimer to the text and the notes, disclaimer and feedback buttons as
blocks, with the answer's metadata. The stream methods are rate tiered (start and stop
Tier 2, about 20 a minute; append Tier 4): a process-wide budget decides whether an
answer may stream at all (start and stop are booked together), and an answer that may
not, or that Slack refuses to stream, is posted whole when done (today's status plus
post). A long answer streams its first part and posts the rest as further messages.
A stream that can no longer be trusted (an append that may or may not have landed) is
deleted and the answer posted whole, so text is never lost or shown twice. A question
stopped midway (deleted, shutdown, a failure) ends its stream with one clear last line
and no separate notice. Every piece is made inert on its way out (`webapi/inert.py`); an
unfinished `[label](url` waits for its end, so a link cut across appends never goes live.
A question about a series or a slide starts its stream early, with its steps as tasks
(`steps.py`), which the same calls then carry along with the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.logs import event
from bot.pipeline.messages import Answer
from bot.pipeline.steps import Steps
from bot.slack.deps import Deps
from bot.slack.question.asked import Asked
from bot.slack.question.routing import Route
from bot.slack.question.steps import TaskChunks, stream_content
from bot.slack.webapi.failures import SLACK_FAILURES, failure_code, slack_code
from bot.slack.webapi.inert import fitting, held_back, inert
from bot.slack.webapi.posting import post_all
from bot.slack.webapi.posts import Mark
from bot.slack.webapi.replies import FENCE, MARKDOWN_LIMIT, answer_messages, answer_tail

log = logging.getLogger(__name__)

FLUSH_S = 1.0  # at most one append a second per answer
MIN_FLUSH_CHARS = 24  # wait for a few words before the first call
STREAM_LIMIT = MARKDOWN_LIMIT - 600  # room for the disclaimer and a closing fence
# Slack's answers that mean "no streams here" (a token, plan or workspace without them).
_REFUSED = frozenset(
    {
        "not_allowed",
        "not_allowed_token_type",
        "missing_scope",
        "method_not_supported",
        "feature_not_enabled",
        "invalid_arguments",
        "not_authed",
        "restricted_action",
    }
)


@dataclass
class AnswerStream:
    """One answer's way into its thread; `push` text as it comes, then `finish` or `abort`."""

    deps: Deps
    asked: Asked
    on_start: Callable[[], None] | None = None  # the answer is visible: stop the status
    ts: str | None = None  # the streamed message, once started
    sent: str = ""  # streamed so far: the start of the answer's findings
    shown: int = 0  # characters of `sent` once inert: what counts against Slack's limit
    damaged: bool = False  # an append may or may not have landed
    closed: bool = False  # nothing more is streamed: the rest is posted after
    stopped: bool = False  # chat.stopStream has ended it
    delivered: bool = False  # the whole answer is in the thread: nothing more to say
    tasks: TaskChunks | None = None  # a series' or a slide's steps, once the pipeline tells
    _said: list[str] = field(default_factory=list)  # everything the model said
    _flusher: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _allowed: bool | None = None

    @property
    def route(self) -> Route:
        """The question's message and thread."""
        return self.asked.route

    @property
    def request_id(self) -> str:
        """The id users can quote."""
        return self.asked.request_id

    @property
    def language(self) -> str:
        """The asker's language."""
        return self.asked.language

    @property
    def started(self) -> bool:
        """A streamed message exists in the thread."""
        return self.ts is not None

    def push(self, text: str) -> None:
        """The pipeline's text callback: keep it, and let the flusher send."""
        self._said.append(text)
        self._wake_flusher()

    def show_steps(self, steps: Steps) -> None:
        """The pipeline's step callback: keep the steps, and let the flusher send them."""
        if self.tasks is None:
            self.tasks = TaskChunks(self.deps.prompts, self.language)
        self.tasks.update(steps)
        self._wake_flusher()

    def _wake_flusher(self) -> None:
        if self.closed or self.damaged:
            return
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop())
        self._wake.set()

    def _pending(self) -> str:
        return "".join(self._said).lstrip()[len(self.sent) :]

    async def _flush_loop(self) -> None:
        while not (self.closed or self.damaged or self._stopping.is_set()):
            await self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set():
                return
            if not await self._flush():
                continue  # nothing ready yet: the next text wakes it, with no wait
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_S):
                    await self._stopping.wait()

    async def _flush(self) -> bool:
        """Send what is ready: up to the last space, within the part's limit.

        False when nothing was ready (no call was made or put off).
        """
        ready, chunks = self._ready_text(), self.tasks.pending() if self.tasks else []
        if not ready and not chunks:
            return False
        if self.ts is None:
            if not self._may_stream(ready):
                self.closed = True
                return True
            await self._start(ready, chunks)
        elif self.deps.stream_budget.take("append"):
            await self._append(ready, chunks)
        else:
            self._wake.set()  # over the budget this second: try again next flush
        return True

    def _ready_text(self) -> str:
        pending = self._pending()
        room = fitting(pending, STREAM_LIMIT - self.shown)
        if len(pending) > room:
            cut = max(pending.rfind("\n\n", 0, room), pending.rfind(" ", 0, room))
            ready = pending[: max(cut, 1)]
        elif self.ts is None and len(pending.strip()) < MIN_FLUSH_CHARS:
            return ""
        else:
            ready = pending[: max(pending.rfind(" "), pending.rfind("\n")) + 1]
        return ready[: held_back(ready)]

    def _may_stream(self, ready: str) -> bool:
        if self._allowed is None:
            self._allowed = self.deps.settings.streaming and self.deps.stream_budget.take("pair")
        return bool(self._allowed)

    async def _start(self, text: str, chunks: list[dict[str, Any]]) -> None:
        try:
            # Outside DMs Slack needs to know whom the stream is for (chat.startStream).
            response = await self.deps.status_client.chat_startStream(
                channel=self.route.channel,
                thread_ts=self.route.thread_ts,
                recipient_user_id=self.route.user,
                recipient_team_id=self.deps.identity.team_id,
                **stream_content(inert(text), chunks, start=True),
            )
        except SLACK_FAILURES as exc:
            self._refused(exc)
            self.closed = True
            return
        self.ts = str(response.get("ts"))
        self._sent(text, chunks)
        if self.on_start is not None:
            self.on_start()

    async def _append(self, text: str, chunks: list[dict[str, Any]]) -> None:
        assert self.ts is not None
        try:
            await self.deps.status_client.chat_appendStream(
                channel=self.route.channel, ts=self.ts, **stream_content(inert(text), chunks)
            )
        except SLACK_FAILURES as exc:
            if slack_code(exc) == "ratelimited":
                return  # keep it: the next flush sends it
            self.damaged = True
        else:
            self._sent(text, chunks)

    def _sent(self, text: str, chunks: Sequence[dict[str, Any]] = ()) -> None:
        if self.tasks is not None:
            self.tasks.sent(chunks)
        self.sent += text
        self.shown += len(inert(text))
        if self.shown >= STREAM_LIMIT - 200:
            self.closed = True  # the rest goes as further messages

    def _refused(self, exc: BaseException) -> None:
        code = failure_code(exc)
        event(log, "stream_unavailable", level=logging.WARNING, error=code)
        if code in _REFUSED:
            self.deps.stream_budget.refused = True

    async def _stop_flushing(self) -> None:
        """No more appends; a call in flight is waited for, never cut off (its effect
        on the thread would be unknown)."""
        self._stopping.set()
        self._wake.set()
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def finish(self, answer: Answer) -> None:
        """Close the stream with the rest of the answer, or post the answer whole."""
        await self._stop_flushing()
        rest = self._rest(answer.findings)
        if not self.started:
            await self._post(self._whole(answer))
        elif self.damaged or rest is None:
            await self._replace(answer)
        else:
            await self._stop_with(answer, rest=rest)
        self.delivered = True

    def _rest(self, findings: str) -> str | None:
        """What the stream has not shown of the findings (None: it showed something else)."""
        if findings.startswith(self.sent):
            return findings[len(self.sent) :]
        return "" if findings == self.sent.rstrip() else None

    async def _stop_with(self, answer: Answer, *, rest: str) -> None:
        """Stop the stream with the rest of the answer, or as part 1 of several.

        The disclaimer ends the streamed text (so `text` has it, as on every answer);
        the notes and the feedback buttons follow as blocks on the answer's last part.
        """
        prompts, shown = self.deps.prompts, inert(rest)
        fits = self.shown + len(shown) <= STREAM_LIMIT or not rest.strip()
        reopen = not fits and self.sent.count(FENCE) % 2 == 1
        later: list[dict[str, Any]] = []
        if not fits:
            text = (FENCE + "\n" if reopen else "") + rest.strip()
            later = self._whole(Answer(findings=text, notes=answer.notes), parts_before=1)
        parts = 1 + len(later)
        continued = prompts.text("stream", "continued", language=self.language)
        last = shown if fits else ("\n" + FENCE if reopen else "") + "\n\n" + continued
        disclaimer = "\n\n" + prompts.disclaimer_in(self.language)
        tail = answer_tail(
            answer, prompts=prompts, request_id=self.request_id, language=self.language
        )
        blocks = tail.after_stream if not later else []  # later parts carry the tail
        mark = Mark.answer(self.request_id, part=1, parts=parts)
        await self._stop(last.rstrip() + disclaimer, blocks=blocks, metadata=mark.metadata)
        if later:
            await self._post(later)

    async def _stop(
        self, markdown: str, *, blocks: list[dict[str, Any]], metadata: dict[str, Any]
    ) -> None:
        assert self.ts is not None
        chunks = self.tasks.pending() if self.tasks else []
        await self.deps.client.chat_stopStream(
            channel=self.route.channel,
            ts=self.ts,
            blocks=blocks,
            metadata=metadata,
            **stream_content(markdown, chunks),
        )
        self.stopped = True

    async def _replace(self, answer: Answer) -> None:
        """A stream that may have lost or doubled text: delete it, post the answer whole."""
        superseded = Mark.notice("superseded", self.request_id).metadata
        with contextlib.suppress(*SLACK_FAILURES):
            await self._stop("", blocks=[], metadata=superseded)
        with contextlib.suppress(*SLACK_FAILURES):
            assert self.ts is not None
            await self.deps.client.chat_delete(channel=self.route.channel, ts=self.ts)
        self.ts = None
        await self._post(self._whole(answer))

    def _whole(self, answer: Answer, *, parts_before: int = 0) -> list[dict[str, Any]]:
        return answer_messages(
            answer,
            prompts=self.deps.prompts,
            request_id=self.request_id,
            language=self.language,
            parts_before=parts_before,
        )

    async def _post(self, messages: list[dict[str, Any]]) -> None:
        route = self.route
        await post_all(
            self.deps.client, channel=route.channel, thread_ts=route.thread_ts, messages=messages
        )

    async def abort(self, line: str, *, kind: str) -> bool:
        """End a started stream with one clear last line (it stands instead of a notice).

        What was shown stays, followed by the line and the disclaimer: a partial finding
        is never left without it. False when there is no open stream to end (none was
        started, or it was already stopped): the caller posts a notice instead.
        """
        await self._stop_flushing()
        if self.ts is None or self.stopped:
            return False
        if self.tasks is not None:
            self.tasks.fail()  # the running task ends in error, before the last line
        closing = "\n" + FENCE if self.sent.count(FENCE) % 2 == 1 else ""
        disclaimer = self.deps.prompts.disclaimer_in(self.language)
        last = f"{closing}\n\n{line}\n\n{disclaimer}"
        try:
            await self._stop(last, blocks=[], metadata=Mark.notice(kind, self.request_id).metadata)
        except SLACK_FAILURES:
            return False
        return True
