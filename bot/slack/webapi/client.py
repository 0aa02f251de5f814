"""The Slack Web API client, with retries that can never post twice.

A 429 means Slack did nothing: every method is retried after `Retry-After`. A 5xx or
a dropped connection may come after Slack did the work, so only methods that can be
repeated safely (reads, updates, deletions, statuses) are retried for them; posts and
stream writes are checked and retried by the code that makes them (`posting.py`).
"""

from __future__ import annotations

from aiohttp import ClientOSError, ServerConnectionError, ServerDisconnectedError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

# Repeating these after an unclear failure can duplicate what users see.
NOT_REPEATABLE = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
        "files.uploadV2",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    }
)
RATE_LIMIT_RETRIES = 8  # each waits Slack's Retry-After; bursts clear within a few windows
TRANSIENT_RETRIES = 2
_CONNECTION_ERRORS = (ServerConnectionError, ServerDisconnectedError, ClientOSError)


def method_of(request: HttpRequest) -> str:
    """The Web API method a request calls (the last path segment of its URL)."""
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class RepeatableFailureRetryHandler(AsyncRetryHandler):
    """Retries 5xx answers and dropped connections, for repeatable methods only."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if method_of(request) in NOT_REPEATABLE:
            return False
        if response is not None:
            return response.status_code >= 500
        return isinstance(error, _CONNECTION_ERRORS)


def web_client(
    settings: Settings, *, rate_limit_retries: int = RATE_LIMIT_RETRIES
) -> AsyncWebClient:
    """The bot's Web API client (honours HTTPS_PROXY, as slack_sdk does).

    `rate_limit_retries=0` suits calls better skipped than late (thread statuses).
    """
    handlers: list[AsyncRetryHandler] = [
        RepeatableFailureRetryHandler(max_retry_count=TRANSIENT_RETRIES)
    ]
    if rate_limit_retries:
        handlers.insert(0, AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries))
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=int(settings.slack_api_timeout_s),
        retry_handlers=handlers,
    )
