"""Where the bot token may go: Slack's own hosts over HTTPS, and the configured API."""

from __future__ import annotations

import pytest

from bot.slack.webapi.files import is_slack_host

API = "http://127.0.0.1:8123/api/"

# (case id, URL, whether the bot token goes with it)
HOSTS: list[tuple[str, str, bool]] = [
    ("files host", "https://files.slack.com/files-pri/T1-F1/x.png", True),
    ("slack.com", "https://slack.com/api/files.info", True),
    ("Grid workspace", "https://acme-health.enterprise.slack.com/files/x", True),
    ("workspace", "https://acme.slack.com/files/U1/F1/x.png", True),
    ("edge host", "https://files-edu.slack-edge.com/x.png", True),
    ("GovSlack", "https://files.slack-gov.com/files-pri/x", True),
    ("GovSlack apex", "https://slack-gov.com/api/", True),
    ("upper case host", "https://FILES.SLACK.COM/x", True),
    ("configured API origin", "http://127.0.0.1:8123/files/F1/x.png", True),
    ("plain http to Slack", "http://files.slack.com/x.png", False),
    ("look-alike suffix", "https://files.slack.com.evil.example/x", False),
    ("look-alike prefix", "https://evilslack.com/x", False),
    ("user info in URL", "https://files.slack.com@evil.example/x", False),
    ("other port of the API host", "http://127.0.0.1:9999/files/x", False),
    ("sign-in provider", "https://login.microsoftonline.com/saml", False),
    ("Drive", "https://docs.google.com/document/d/abc", False),
]


@pytest.mark.parametrize(("name", "url", "allowed"), HOSTS, ids=[c[0] for c in HOSTS])
def test_token_only_to_slack(name: str, url: str, allowed: bool) -> None:
    assert is_slack_host(url, api_url=API) is allowed
