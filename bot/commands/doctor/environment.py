"""What doctor reads besides the settings: names that look like ours but are not, values
still copied from .env.example, and URLs shown without their secrets."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "MEDGEMMA_"
# Slack's own tools and other apps read SLACK_* names too: only a near miss of one of
# ours (SLACK_BOT_TOKN) is surely meant for this bot.
SLACK_PREFIX = "SLACK_"
SLACK_CUTOFF = 0.8
PLACEHOLDER_ENDINGS = ("...", "…")  # .env.example shows `xoxb-...`, `hf_...`, `...`

# What to do instead of a placeholder, for the values .env.example shows.
_REAL_VALUE = {
    "SLACK_BOT_TOKEN": "paste the Bot User OAuth Token (xoxb-) from the app's Install App page",
    "SLACK_APP_TOKEN": (
        "paste an app-level token (xapp-) with connections:write from Basic Information > "
        "App-Level Tokens"
    ),
    "HF_TOKEN": "paste a read token from https://huggingface.co/settings/tokens",
    "MEDGEMMA_REVISION": (
        "set a commit of the model published after 2025-07-09, or remove the line for the newest"
    ),
}


@dataclass(frozen=True)
class Variable:
    """One variable as doctor found it, and where (the process environment wins)."""

    name: str
    value: str
    where: str  # "the environment" or ".env"


def variables(dotenv: Path = Path(".env")) -> list[Variable]:
    """The process environment over the `.env` file's values, as the settings read them."""
    from dotenv import dotenv_values

    found: dict[str, Variable] = {}
    if dotenv.is_file():
        for name, value in dotenv_values(dotenv).items():
            if value is not None:
                found[name] = Variable(name, value, ".env")
    for name, value in os.environ.items():
        found[name] = Variable(name, value, "the environment")
    return [found[name] for name in sorted(found)]


def unknown_names(found: Iterable[Variable], declared: Iterable[str]) -> Iterator[str]:
    """A line for each variable that looks like one of ours but is not read."""
    ours = set(declared)
    for variable in found:
        name = variable.name.upper()
        if variable.name in ours or not name.startswith((PREFIX, SLACK_PREFIX)):
            continue
        guess = name if name in ours else _closest(name, ours)
        if guess is None and name.startswith(SLACK_PREFIX):
            continue
        line = f"{variable.name} (in {variable.where}) is not a setting the bot reads"
        yield line + (
            f": did you mean {guess}?" if guess else ": see the README's configuration table"
        )


def _closest(name: str, ours: set[str]) -> str | None:
    """The declared name `name` most likely misspells, comparing what follows the prefix."""
    prefix = PREFIX if name.startswith(PREFIX) else SLACK_PREFIX
    tails = {n.removeprefix(prefix): n for n in ours if n.startswith(prefix)}
    cutoff = 0.6 if prefix == PREFIX else SLACK_CUTOFF
    close = difflib.get_close_matches(name.removeprefix(prefix), list(tails), n=1, cutoff=cutoff)
    return tails[close[0]] if close else None


def placeholders(found: Iterable[Variable], declared: Iterable[str]) -> dict[str, str]:
    """Our variables still set to .env.example's placeholders: name -> the FAIL line."""
    ours = set(declared)
    lines = {}
    for variable in found:
        if variable.name in ours and variable.value.strip().endswith(PLACEHOLDER_ENDINGS):
            step = _REAL_VALUE.get(variable.name, "set the real value, or remove the line")
            lines[variable.name] = (
                f"{variable.name} (in {variable.where}) is still .env.example's placeholder: {step}"
            )
    return lines


def shown_url(url: str) -> str:
    """`scheme://host:port` of a URL: never its user, password, path or query."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"  # a socket's file; credentials ride in the query
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: leave it out
        port = None
    return f"{parts.scheme}://{host}:{port}" if port else f"{parts.scheme}://{host}"
