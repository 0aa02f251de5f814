"""Slack's message size limits, enforced by the fake as Slack's API errors."""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MARKDOWN_TOTAL = 12_000
MAX_POST_TEXT = 40_000
MAX_UPDATE_TEXT = 4000


class SlackError(Exception):
    """An `{"ok": false, "error": ...}` answer raised from inside a Web API method."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body Slack would send."""
        return {"ok": False, "error": self.error, **self.extra}


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        text = obj.get("text", "")
        return text if isinstance(text, str) else ""
    return ""


def block_errors(blocks: list[Any]) -> list[str]:
    """Slack-style messages for every limit the blocks break (empty when they are fine)."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    markdown_total = 0
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or "type" not in block:
            errors.append(f"missing required field: type [json-pointer:/blocks/{i}]")
            continue
        kind = block["type"]
        if kind == "section":
            if len(_text_of(block.get("text"))) > MAX_SECTION_TEXT:
                errors.append(
                    f"must be less than {MAX_SECTION_TEXT + 1} characters "
                    f"[json-pointer:/blocks/{i}/text/text]"
                )
            for j, field in enumerate(block.get("fields") or []):
                if len(_text_of(field)) > MAX_SECTION_FIELD_TEXT:
                    errors.append(
                        f"must be less than {MAX_SECTION_FIELD_TEXT + 1} characters "
                        f"[json-pointer:/blocks/{i}/fields/{j}/text]"
                    )
        elif kind == "header" and len(_text_of(block.get("text"))) > MAX_HEADER_TEXT:
            errors.append(
                f"must be less than {MAX_HEADER_TEXT + 1} characters "
                f"[json-pointer:/blocks/{i}/text/text]"
            )
        elif kind == "markdown":
            markdown_total += len(_text_of(block))
    if markdown_total > MAX_MARKDOWN_TOTAL:
        errors.append(
            f"markdown blocks must total less than {MAX_MARKDOWN_TOTAL + 1} characters "
            "[json-pointer:/blocks]"
        )
    return errors


def check_message(
    *, text: Any, blocks: Any, markdown_text: Any, max_text: int, require_content: bool
) -> None:
    """Raise the SlackError Slack answers for a message that breaks a limit."""
    if blocks is not None:
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        errors = block_errors(blocks)
        if errors:
            raise SlackError("invalid_blocks", errors=errors)
    if isinstance(text, str) and len(text) > max_text:
        raise SlackError("msg_too_long")
    if isinstance(markdown_text, str) and len(markdown_text) > MAX_MARKDOWN_TOTAL:
        raise SlackError("msg_too_long")
    if require_content and not (text or blocks or markdown_text):
        raise SlackError("no_text")
