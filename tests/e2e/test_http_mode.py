"""The HTTP Events API: signed requests answered, bad signatures rejected."""

from __future__ import annotations

import json
import time

import aiohttp

from tests.e2e.harness import Harness, built_runner, findings
from tests.fakes.backend import FakeBackend, digest
from tests.fakes.slack import FakeSlack, event_callback_body, new_event_id, signed_request_headers


async def test_signed_events_are_answered_and_forgeries_rejected(fake_slack: FakeSlack) -> None:
    backend = FakeBackend()
    runner = await built_runner(fake_slack, backend, transport="http")
    slack = runner.slack
    port = await runner.http(host="127.0.0.1", port=0)
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        [mention, _] = fake_slack.post_user_message(
            channel="C1", text=f"<@{fake_slack.bot_user_id}> over http?"
        )
        body = event_callback_body(mention, event_id=new_event_id())
        async with aiohttp.ClientSession() as session:
            headers = signed_request_headers(body, signing_secret=fake_slack.signing_secret)
            async with session.post(url, data=body, headers=headers) as response:
                assert response.status == 200
            forged = signed_request_headers(body, signing_secret="not-the-secret")
            async with session.post(url, data=body, headers=forged) as response:
                assert response.status == 401
            stale = signed_request_headers(
                body, signing_secret=fake_slack.signing_secret, timestamp=int(time.time()) - 3600
            )
            async with session.post(url, data=body, headers=stale) as response:
                assert response.status == 401
            challenge = json.dumps({"type": "url_verification", "challenge": "abc123"}).encode()
            headers = signed_request_headers(challenge, signing_secret=fake_slack.signing_secret)
            async with session.post(url, data=challenge, headers=headers) as response:
                assert response.status == 200 and "abc123" in await response.text()
        h = Harness(fake=fake_slack, slack=slack, runner=runner, backend=backend)
        [reply] = await h.replies(str(mention["ts"]))
    finally:
        await runner.stop()
    assert findings(reply).startswith(f"Findings for {digest('over http?')}")
    assert len(backend.requests) == 1  # the forged and stale copies did nothing
