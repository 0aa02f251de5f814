"""Slack's Block Kit limits, enforced by the fake as Slack's API errors.

Block and element limits follow the Block Kit reference (docs.slack.dev/reference/
block-kit/blocks and /block-elements: section text 3,000, header 150, input labels
2,000, button text 75 and value 2,000, select options 100 with text 75 and value 150,
placeholders 150, `action_id` and `block_id` 255, 25 elements in an actions block).
Messages hold 50 blocks, views 100 (`max_blocks`).
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MARKDOWN_TOTAL = 12_000
MAX_POST_TEXT = 40_000
MAX_UPDATE_TEXT = 4000
MAX_VIEW_BLOCKS = 100
MAX_ID = 255  # action_id, block_id
MAX_INPUT_LABEL = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_PLACEHOLDER = 150
MAX_INPUT_LENGTH = 3000
MAX_ACTIONS_ELEMENTS = 25
# The table block (docs.slack.dev/reference/block-kit/blocks/table-block): "Maximum 100 rows",
# each row "an array with a max of 20 table cells", of type raw_text or rich_text.
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20


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


def too_long(limit: int, pointer: str) -> str:
    """Slack's message for a string over its limit."""
    return f"must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _check_length(errors: list[str], value: Any, limit: int, pointer: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.append(too_long(limit, pointer))


def _option_errors(options: Any, at: str) -> list[str]:
    errors: list[str] = []
    options = options if isinstance(options, list) else []
    if len(options) > MAX_OPTIONS:
        errors.append(f"no more than {MAX_OPTIONS} items allowed [json-pointer:{at}]")
    for k, option in enumerate(options):
        if not isinstance(option, dict):
            errors.append(f"must be an object [json-pointer:{at}/{k}]")
            continue
        _check_length(errors, _text_of(option.get("text")), MAX_OPTION_TEXT, f"{at}/{k}/text/text")
        _check_length(errors, option.get("value"), MAX_OPTION_VALUE, f"{at}/{k}/value")
    return errors


def element_errors(element: Any, at: str) -> list[str]:
    """The limits an interactive element breaks: ids, button text and value, options."""
    if not isinstance(element, dict) or "type" not in element:
        return [f"missing required field: type [json-pointer:{at}]"]
    errors: list[str] = []
    _check_length(errors, element.get("action_id"), MAX_ID, f"{at}/action_id")
    _check_length(
        errors, _text_of(element.get("placeholder")), MAX_PLACEHOLDER, f"{at}/placeholder/text"
    )
    kind = element["type"]
    if kind == "button":
        _check_length(errors, _text_of(element.get("text")), MAX_BUTTON_TEXT, f"{at}/text/text")
        _check_length(errors, element.get("value"), MAX_BUTTON_VALUE, f"{at}/value")
    elif kind == "feedback_buttons":
        for side in ("positive_button", "negative_button"):
            button = element.get(side)
            if not isinstance(button, dict):
                errors.append(f"missing required field: {side} [json-pointer:{at}]")
                continue
            _check_length(
                errors, _text_of(button.get("text")), MAX_BUTTON_TEXT, f"{at}/{side}/text/text"
            )
            _check_length(errors, button.get("value"), MAX_BUTTON_VALUE, f"{at}/{side}/value")
    elif kind in ("static_select", "multi_static_select"):
        if not element.get("options") and not element.get("option_groups"):
            errors.append(f"missing required field: options [json-pointer:{at}]")
        errors.extend(_option_errors(element.get("options"), f"{at}/options"))
    elif kind == "plain_text_input":
        for key in ("max_length", "min_length"):
            value = element.get(key)
            if isinstance(value, int) and not 0 <= value <= MAX_INPUT_LENGTH:
                errors.append(f"must be at most {MAX_INPUT_LENGTH} [json-pointer:{at}/{key}]")
    return errors


def _block_errors(block: dict[str, Any], at: str) -> list[str]:
    """The limits one block breaks (its elements included)."""
    errors: list[str] = []
    _check_length(errors, block.get("block_id"), MAX_ID, f"{at}/block_id")
    kind = block["type"]
    if kind == "section":
        _check_length(errors, _text_of(block.get("text")), MAX_SECTION_TEXT, f"{at}/text/text")
        for j, field in enumerate(block.get("fields") or []):
            _check_length(errors, _text_of(field), MAX_SECTION_FIELD_TEXT, f"{at}/fields/{j}/text")
        if "accessory" in block:
            errors.extend(element_errors(block["accessory"], f"{at}/accessory"))
    elif kind == "header":
        _check_length(errors, _text_of(block.get("text")), MAX_HEADER_TEXT, f"{at}/text/text")
    elif kind in ("actions", "context_actions"):
        elements = block.get("elements") or []
        if len(elements) > MAX_ACTIONS_ELEMENTS:
            errors.append(
                f"no more than {MAX_ACTIONS_ELEMENTS} items allowed [json-pointer:{at}/elements]"
            )
        for j, element in enumerate(elements):
            errors.extend(element_errors(element, f"{at}/elements/{j}"))
    elif kind == "table":
        errors.extend(_table_errors(block, at))
    elif kind == "input":
        label = block.get("label")
        if not isinstance(label, dict) or label.get("type") != "plain_text":
            errors.append(f"missing required field: label [json-pointer:{at}]")
        _check_length(errors, _text_of(label), MAX_INPUT_LABEL, f"{at}/label/text")
        if "element" not in block:
            errors.append(f"missing required field: element [json-pointer:{at}]")
        else:
            errors.extend(element_errors(block["element"], f"{at}/element"))
    return errors


def _table_errors(block: dict[str, Any], at: str) -> list[str]:
    """A table block: at most 100 rows of at most 20 cells, each raw_text or rich_text."""
    rows = block.get("rows")
    if not isinstance(rows, list) or not rows:
        return [f"missing required field: rows [json-pointer:{at}]"]
    errors: list[str] = []
    if len(rows) > MAX_TABLE_ROWS:
        errors.append(f"no more than {MAX_TABLE_ROWS} items allowed [json-pointer:{at}/rows]")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or not 0 < len(row) <= MAX_TABLE_CELLS:
            errors.append(f"must have 1 to {MAX_TABLE_CELLS} cells [json-pointer:{at}/rows/{i}]")
            continue
        for j, cell in enumerate(row):
            raw = isinstance(cell, dict) and cell.get("type") == "raw_text"
            if not (raw and cell.get("text")) and not (
                isinstance(cell, dict) and cell.get("type") == "rich_text"
            ):
                errors.append(f"invalid cell [json-pointer:{at}/rows/{i}/{j}]")
    return errors


def block_errors(
    blocks: list[Any], *, max_blocks: int = MAX_BLOCKS, at: str = "/blocks"
) -> list[str]:
    """Slack-style messages for every limit the blocks break (empty when they are fine)."""
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:{at}]")
    markdown_total = 0
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or "type" not in block:
            errors.append(f"missing required field: type [json-pointer:{at}/{i}]")
            continue
        errors.extend(_block_errors(block, f"{at}/{i}"))
        if block["type"] == "markdown":
            markdown_total += len(_text_of(block))
    if markdown_total > MAX_MARKDOWN_TOTAL:
        errors.append(
            f"markdown blocks must total less than {MAX_MARKDOWN_TOTAL + 1} characters "
            f"[json-pointer:{at}]"
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
