"""Small pieces of Block Kit views and of the interaction payloads Slack sends back.

Limits are Slack's (docs.slack.dev/reference/views/modal-views and the Block Kit
reference): a modal's title, submit and close 24 characters, a header 150, a section
3,000, `private_metadata` 3,000. Texts are cut to fit rather than refused, since a
translation may run longer than the English. `private_metadata` holds ids only (channel
ids, message timestamps, request ids), and only ids that look like ids are read back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

MODAL_TEXT_LIMIT = 24
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
METADATA_LIMIT = 3000
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # Slack ids, timestamps, request ids


def fit(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(text: str, limit: int = MODAL_TEXT_LIMIT) -> dict[str, Any]:
    """A plain_text object within `limit` characters."""
    return {"type": "plain_text", "text": fit(text, limit)}


def section(text: str, *, block_id: str) -> dict[str, Any]:
    """A mrkdwn section block within Slack's 3,000 characters."""
    return {
        "type": "section",
        "block_id": block_id,
        "text": {"type": "mrkdwn", "text": fit(text, SECTION_LIMIT)},
    }


def header(text: str, *, block_id: str) -> dict[str, Any]:
    """A header block within Slack's 150 characters."""
    return {"type": "header", "block_id": block_id, "text": plain(text, HEADER_LIMIT)}


def is_id(value: object) -> bool:
    """Whether `value` looks like a Slack id, a message ts or a request id (never text)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def pack(ids: Mapping[str, str]) -> str:
    """private_metadata holding ids only (empty ones left out); anything else is refused."""
    kept = {k: v for k, v in ids.items() if v}
    if not all(is_id(v) for v in kept.values()):
        raise ValueError("private_metadata holds ids only")
    packed = json.dumps(kept, separators=(",", ":"))
    if len(packed) > METADATA_LIMIT:
        raise ValueError("private_metadata is limited to 3,000 characters")
    return packed


def unpack(
    view: Mapping[str, Any], *keys: str, optional: tuple[str, ...] = ()
) -> dict[str, str] | None:
    """The ids a view's private_metadata holds; None when one of `keys` is missing.

    `optional` keys may be absent ("" then); every value present must be an id.
    """
    try:
        data = json.loads(str(view.get("private_metadata") or ""))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    found = {key: data.get(key) for key in keys}
    extra = {key: data.get(key) or "" for key in optional}
    if not all(is_id(v) for v in found.values()) or not all(
        v == "" or is_id(v) for v in extra.values()
    ):
        return None
    return {k: str(v) for k, v in {**found, **extra}.items()}


def input_state(view: Mapping[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    """What a view_submission reports for one input element (empty when absent)."""
    values = (view.get("state") or {}).get("values") or {}
    state = (values.get(block_id) or {}).get(action_id)
    return state if isinstance(state, dict) else {}


def user_of(body: Mapping[str, Any]) -> str:
    """The id of the person who interacted."""
    return str((body.get("user") or {}).get("id") or "")
