"""State shared by replicas through Redis (MEDGEMMA_REDIS_URL): ids only, bounded, expiring.

Keys, all under `medgemma:` (one Redis database per Slack app):
- `claim:<key>`: SET NX with a TTL; the first replica to claim a message answers it.
- `threads`: a sorted set of "channel thread_ts" scored by when the bot last joined,
  trimmed to the newest MAX_THREADS and to THREAD_TTL_S.
- `questions`: a hash of the questions in progress by "channel ts", each the JSON of a
  Question (channel, ts, user and request ids, times, owner, attempt; no text).
- `replica:<id>`: each replica's heartbeat, refreshed three times per
  MEDGEMMA_REPLICA_TIMEOUT_S and expiring after it: a question whose owner has no
  heartbeat is an orphan.
- channel `medgemma:cancel`: deletions, published to every replica, the publisher too.

A question is taken for an orphan once its owner has had no heartbeat for a whole
heartbeat period (after a Redis restart every heartbeat is gone for a moment), and is
handed to one replica only: a script moves it to the caller only while its record is
still the one the caller read (compare and set), with its attempt counted up, so a
replica that dies while recovering leaves the question to the next one as a second
attempt. Failures that would lose a question are raised (the event is then not
acknowledged and Slack retries it); failures that only cost a follow-up or crash-safety
are logged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as redis
from redis.exceptions import RedisError

from bot.errors import ConfigError
from bot.logs import event
from bot.state.base import CancelHandler, Question, new_replica_id

log = logging.getLogger(__name__)

PREFIX = "medgemma:"
THREADS = PREFIX + "threads"
QUESTIONS = PREFIX + "questions"
CANCEL_CHANNEL = PREFIX + "cancel"
MAX_THREADS = 100_000
THREAD_TTL_S = 90 * 24 * 3600.0  # follow-ups in a thread older than this start afresh
REDIS_TIMEOUT_S = 5.0  # connecting, and each command's reply
POLL_S = 1.0  # longest wait for a cancellation before checking the connection again
RETRY_S = 1.0  # pause after a failed heartbeat or subscription read

# Hand an orphan over only if nobody changed it since it was read.
_TAKE_OVER = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""


def where(url: str) -> str:
    """The server a URL points at, without credentials, for messages to operators."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname}:{parts.port or 6379}"


class RedisState:
    """The state of one replica among several, kept in Redis."""

    shared = True

    def __init__(self, *, url: str, replica_timeout_s: float, replica: str | None = None) -> None:
        self.replica = replica or new_replica_id()
        self._url = url
        self._timeout_s = replica_timeout_s
        self._redis: redis.Redis = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            health_check_interval=int(max(1.0, replica_timeout_s)),
        )
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._take_over = self._redis.register_script(_TAKE_OVER)
        self._handlers: list[CancelHandler] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._suspects: dict[str, float] = {}  # orphan records seen, and since when
        self._closed = False

    @property
    def _heartbeat_key(self) -> str:
        return f"{PREFIX}replica:{self.replica}"

    async def claim(self, key: str, *, ttl_s: float) -> bool:
        """True for the first replica to claim `key` within `ttl_s` (SET NX)."""
        ttl_ms = max(1, int(ttl_s * 1000))
        return bool(await self._redis.set(f"{PREFIX}claim:{key}", self.replica, nx=True, px=ttl_ms))

    async def join_thread(self, channel: str, thread_ts: str) -> None:
        """Remember the thread for every replica; the oldest and the expired are dropped."""
        now = time.time()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(THREADS, {_thread(channel, thread_ts): now})
                pipe.zremrangebyscore(THREADS, "-inf", now - THREAD_TTL_S)
                pipe.zremrangebyrank(THREADS, 0, -(MAX_THREADS + 1))
                await pipe.execute()
        except RedisError as exc:  # costs only the follow-ups of this thread
            _unavailable("join_thread", exc)

    async def in_thread(self, channel: str, thread_ts: str) -> bool:
        """Whether any replica joined the thread within THREAD_TTL_S."""
        score = await self._redis.zscore(THREADS, _thread(channel, thread_ts))
        return score is not None and float(score) >= time.time() - THREAD_TTL_S

    async def cancel(self, channel: str, ts: str) -> None:
        """Publish the deletion; every replica's handlers run (this one's too)."""
        await self._redis.publish(CANCEL_CHANNEL, json.dumps({"channel": channel, "ts": ts}))

    def on_cancel(self, handler: CancelHandler) -> None:
        """Register a cancellation handler."""
        self._handlers.append(handler)

    async def begin(self, question: Question) -> None:
        """Record a question in progress (a failure costs only its crash-safety)."""
        try:
            await self._redis.hset(
                QUESTIONS, _field(question.channel, question.ts), _dump(question)
            )
        except RedisError as exc:
            _unavailable("begin", exc)

    async def finish(self, channel: str, ts: str) -> None:
        """Forget a question that got its reply."""
        try:
            await self._redis.hdel(QUESTIONS, _field(channel, ts))
        except RedisError as exc:  # left for recovery, which finds it answered
            _unavailable("finish", exc)

    async def orphans(self) -> list[Question]:
        """Questions of replicas without a heartbeat, each moved to this replica first."""
        try:
            return await self._take_orphans()
        except RedisError as exc:
            _unavailable("orphans", exc)
            return []

    async def _take_orphans(self) -> list[Question]:
        records = {str(k): str(v) for k, v in (await self._redis.hgetall(QUESTIONS)).items()}
        found = {key: _load(raw) for key, raw in records.items()}
        owners = sorted({q.owner for q in found.values() if q is not None} - {self.replica})
        alive = await self._alive(owners)
        now = time.monotonic()
        suspects, self._suspects = self._suspects, {}
        taken = []
        for key, question in found.items():
            if question is None or question.owner == self.replica or question.owner in alive:
                continue
            # Only once a live owner would have beaten again.
            first_seen = self._suspects[records[key]] = suspects.get(records[key], now)
            if now - first_seen < self._timeout_s / 3:
                continue
            mine = dataclasses.replace(question, owner=self.replica, attempt=question.attempt + 1)
            if await self._take_over(keys=[QUESTIONS], args=[key, records[key], _dump(mine)]):
                taken.append(question)
        return taken

    async def _alive(self, owners: list[str]) -> set[str]:
        """Which of these replicas still have a heartbeat."""
        if not owners:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for owner in owners:
                pipe.exists(f"{PREFIX}replica:{owner}")
            results = await pipe.execute()
        return {owner for owner, exists in zip(owners, results, strict=True) if exists}

    async def start(self) -> None:
        """Connect, beat once, subscribe to cancellations; a server out of reach stops start-up."""
        try:
            await self._beat_once()
            await self._pubsub.subscribe(CANCEL_CHANNEL)
        except (RedisError, OSError) as exc:
            await self._redis.aclose()
            raise ConfigError(
                f"cannot reach Redis at {where(self._url)} ({type(exc).__name__}): check "
                "MEDGEMMA_REDIS_URL and that the server runs"
            ) from None
        self._tasks = [
            asyncio.create_task(self._heartbeat(), name="state-heartbeat"),
            asyncio.create_task(self._listen(), name="state-cancellations"),
        ]
        event(log, "state_connected", store="redis", replica=self.replica)

    async def aclose(self) -> None:
        """Stop beating (what is left becomes orphans at once) and disconnect, once.

        A second call does nothing: a closed client would reconnect to say goodbye again.
        """
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        # A cancellation can be lost inside a command (Python 3.11's asyncio.timeout turns
        # one that meets the command's deadline into a TimeoutError): the loops also stop
        # at their next turn, seeing _closed, and the wait is bounded either way.
        if self._tasks:
            ended, left = await asyncio.wait(self._tasks, timeout=REDIS_TIMEOUT_S + POLL_S)
            for task in ended:  # retrieved, so asyncio does not report it at exit
                if not task.cancelled() and (exc := task.exception()) is not None:
                    _unavailable("closing", exc)
            if left:
                event(log, "state_tasks_left", level=logging.WARNING, tasks=len(left))
        self._tasks = []
        with suppress(RedisError, OSError):
            await self._redis.delete(self._heartbeat_key)
        with suppress(RedisError, OSError):
            await self._pubsub.aclose()
        await self._redis.aclose()

    async def _beat_once(self) -> None:
        ttl_ms = int(self._timeout_s * 1000)
        await self._redis.set(self._heartbeat_key, str(time.time()), px=ttl_ms)

    async def _heartbeat(self) -> None:
        """Refresh this replica's heartbeat well within its TTL, until closed."""
        while not self._closed:
            await asyncio.sleep(self._timeout_s / 3)
            try:
                await self._beat_once()
            except RedisError as exc:
                _unavailable("heartbeat", exc)

    async def _listen(self) -> None:
        """Run the handlers for every cancellation published (the client reconnects)."""
        while not self._closed:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=POLL_S
                )
            except (RedisError, OSError) as exc:
                _unavailable("cancellations", exc)
                await asyncio.sleep(RETRY_S)
                continue
            if message is not None and message.get("type") == "message":
                self._dispatch(str(message["data"]))

    def _dispatch(self, data: str) -> None:
        try:
            parsed: dict[str, Any] = json.loads(data)
            channel, ts = str(parsed["channel"]), str(parsed["ts"])
        except (ValueError, KeyError, TypeError):
            event(log, "cancellation_unreadable", level=logging.WARNING)
            return
        for handler in self._handlers:
            handler(channel, ts)


def _thread(channel: str, thread_ts: str) -> str:
    return f"{channel} {thread_ts}"


def _field(channel: str, ts: str) -> str:
    return f"{channel} {ts}"


def _dump(question: Question) -> str:
    return json.dumps(dataclasses.asdict(question), sort_keys=True)


def _load(raw: str) -> Question | None:
    try:
        return Question(**json.loads(raw))
    except (ValueError, TypeError):
        return None


def _unavailable(operation: str, exc: BaseException) -> None:
    event(
        log,
        "state_unavailable",
        level=logging.WARNING,
        operation=operation,
        error=type(exc).__name__,
    )
