"""Both backends put the same prompt in front of the model, through Gemma 3's template.

The in-process backend renders the template itself; vLLM renders an OpenAI request's
messages through the same template, each content part trimmed and concatenated (see
reference/medgemma.md). Both renderings are made here with the real template and must
be equal, character for character.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
from PIL import Image

from bot.backends.base import ChatMessage, ImagePart, Role, TextPart
from bot.backends.hf.prompt import to_hf_messages
from bot.backends.openai_compat import to_openai_messages

TEMPLATE = Path(__file__).resolve().parents[2] / "bot/backends/hf/gemma3_chat_template.jinja"
IMAGE = Image.new("RGB", (8, 8))


def render(messages: list[dict[str, Any]]) -> str:
    def fail(message: str) -> None:
        raise ValueError(message)

    env = jinja2.Environment(autoescape=False)
    env.globals["raise_exception"] = fail
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(messages=messages, bos_token="<bos>", add_generation_prompt=True)


def as_vllm_sees_it(messages: list[Any]) -> list[dict[str, Any]]:
    """An OpenAI request as vLLM hands it to the template: image parts as images."""
    seen = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            content = [
                {"type": "image"}
                if p["type"] == "image_url"
                else {"type": "text", "text": p["text"]}
                for p in content
            ]
        seen.append({"role": message["role"], "content": content})
    return seen


def turn(role: Role, *parts: ImagePart | TextPart) -> ChatMessage:
    """One message of a conversation, its parts in order."""
    return ChatMessage(role, parts)


IMG = ImagePart(IMAGE)
CONVERSATIONS: dict[str, tuple[ChatMessage, ...]] = {
    "speaker and question": (
        turn("system", TextPart("You are an expert radiologist.")),
        turn("user", IMG, TextPart("Look at this film"), TextPart("Bob: Any effusion?")),
    ),
    "series: labels, then the question": (
        turn(
            "user",
            TextPart("You are given 2 slices."),
            *(IMG, TextPart("SLICE 1")),
            *(IMG, TextPart("SLICE 2")),
            TextPart("Is there a liver lesion?"),
        ),
    ),
    "follow-up with an answer between": (
        turn("system", TextPart("Be brief.")),
        turn("user", IMG, TextPart("What is this?")),
        turn("assistant", TextPart("A chest radiograph.")),
        turn("user", TextPart("Ann: and the heart?"), TextPart("Bob: and the ribs?")),
    ),
}


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_both_backends_render_the_same_prompt(name: str) -> None:
    messages = CONVERSATIONS[name]
    in_process = render(to_hf_messages(messages))
    served = render(as_vllm_sees_it(to_openai_messages(messages)))
    assert served == in_process
    assert "filmBob" not in served and "SLICE 2Is" not in served  # nothing glued together
