"""doctor's checks of the servers the bot talks to besides Slack: the model server, Redis."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.commands.doctor.environment import shown_url
from bot.errors import BotError
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.commands.doctor import Checks

REDIS_TIMEOUT_S = 3.0  # connecting, and the reply to PING
SERVER_TIMEOUT_S = 10.0  # the model server's reply to listing its models


async def check_openai(settings: Settings, checks: Checks) -> None:
    """Whether the OpenAI-compatible server answers, and whether a full series fits it."""
    from bot.backends.openai_compat import OpenAIBackend
    from bot.pipeline.limits import series_problem

    backend = OpenAIBackend(
        base_url=settings.base_url,
        api_key=settings.api_key,
        model=settings.model,
        timeout_s=min(SERVER_TIMEOUT_S, settings.server_timeout_s),
        context_tokens=settings.server_context_tokens,
        max_images=settings.server_max_images,
    )
    try:
        await backend.start()
        checks.ok(f"OpenAI-compatible server answers at {shown_url(settings.base_url)}")
        problem = series_problem(settings, backend.capabilities)
        checks.report(problem is None, problem or "a full CT/MR series fits the server's limits")
    except BotError as exc:
        checks.fail(
            f"{exc.detail}: check MEDGEMMA_BASE_URL, MEDGEMMA_API_KEY and that the server runs"
        )
    finally:
        await backend.aclose()


async def check_redis(url: str, checks: Checks) -> None:
    """Connect to MEDGEMMA_REDIS_URL and PING it, within a few seconds."""
    import redis.asyncio as redis
    from redis.exceptions import AuthenticationError, RedisError

    where = shown_url(url)
    client = redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        retry=None,  # one attempt: a doctor reports, it does not wait out an outage
    )
    try:
        async with asyncio.timeout(2 * REDIS_TIMEOUT_S):
            await client.ping()
        checks.ok(f"Redis answers PING at {where}")
    except AuthenticationError:
        checks.fail(
            f"Redis at {where} refused the credentials: check the user and password in "
            "MEDGEMMA_REDIS_URL"
        )
    except (RedisError, OSError, TimeoutError) as exc:
        checks.fail(
            f"cannot reach Redis at {where} ({type(exc).__name__}): check MEDGEMMA_REDIS_URL "
            "and that the server runs"
        )
    finally:
        await client.aclose()
