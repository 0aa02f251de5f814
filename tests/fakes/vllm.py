"""What the fake model server does as vLLM 0.32 does: its refusals and its tokenizer.

The fake's tokenizer is byte-level, as the tiny Gemma 3 of the tests is: every UTF-8
byte of text is a token, and an image is IMAGE_TOKENS.
"""

from __future__ import annotations

from typing import Any

Body = dict[str, Any]
IMAGE_TOKENS = 256  # Gemma 3's image tokens; the fake's template adds nothing around them
BOS = 2


def error_body(
    *,
    error_type: str,
    code: str | int | None,
    message: str,
    param: str | None = None,
    flat: bool = False,
) -> Body:
    """An OpenAI-style error object, wrapped (OpenAI, vLLM 0.32) or flat (older vLLM)."""
    fields = {"message": message, "type": error_type, "param": param, "code": code}
    return {"object": "error", **fields} if flat else {"error": fields}


def refusal_body(param: str, message: str) -> Body:
    """vLLM 0.32's 400 for a request over a limit (vllm/entrypoints/serve/exception_handling/
    error_response.py: a VLLMValidationError becomes type "BadRequestError", code 400 and
    `param` the parameter it names)."""
    return error_body(error_type="BadRequestError", code=400, message=message, param=param)


def image_refusal(limit: int) -> str:
    """vLLM's words for too many images (vllm/multimodal/processing/context.py), with the
    parameter that `VLLMValidationError.__str__` appends (as vLLM 0.32 sent them here)."""
    return f"At most {limit} image(s) may be provided in one prompt. (parameter=image)"


def context_refusal(max_model_len: int, tokens: int) -> str:
    """vLLM's words for a prompt over the context (vllm/renderers/params.py); vLLM
    tokenizes one token past the limit, so it says "at least" the limit plus one."""
    counted = min(tokens, max_model_len + 1)
    least = "at least " if counted == max_model_len + 1 else ""
    return (
        f"This model's maximum context length is {max_model_len} tokens. However, your "
        f"prompt contains {least}{counted} input tokens, which exceeds this limit even without "
        "any output tokens. Please reduce the length of the input prompt. "
        f"(parameter=input_tokens, value={counted})"
    )


def answer_refusal(max_tokens: int, max_model_len: int) -> str:
    """vLLM's words for an answer's allowance over the context (vllm/renderers/params.py)."""
    return (
        f"max_tokens={max_tokens} cannot be greater than max_model_len={max_model_len}. "
        f"Please request fewer output tokens. (parameter=max_tokens, value={max_tokens})"
    )


def prompt_counts(body: Body) -> tuple[int, int]:
    """A chat request's prompt tokens (byte-level, as the fake counts) and its images."""
    tokens = images = 0
    for message in body.get("messages", []):
        content = message.get("content", "")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for part in parts:
            if part.get("type") == "image_url":
                images += 1
            else:
                tokens += len(str(part.get("text", "")).encode("utf-8"))
    return tokens + images * IMAGE_TOKENS, images


def over_limits(body: Body, *, image_limit: int | None, max_model_len: int | None) -> Body | None:
    """vLLM's refusal of a chat request over its limits, or None: images first, as vLLM
    counts them while it parses the request, then the answer's allowance, then the
    prompt's length (vllm/renderers/params.py)."""
    tokens, images = prompt_counts(body)
    context = max_model_len
    if image_limit is not None and images > image_limit:
        return refusal_body("image", image_refusal(image_limit))
    if context and (wanted := body.get("max_tokens") or 0) > context:
        return refusal_body("max_tokens", answer_refusal(wanted, context))
    if context and tokens > context:
        return refusal_body("input_tokens", context_refusal(context, tokens))
    return None


def tokenize_reply(body: Body, *, max_model_len: int | None) -> Body:
    """vLLM's reply to POST /tokenize for a prompt (vllm/entrypoints/serve/tokenize)."""
    tokens = list(str(body.get("prompt", "")).encode("utf-8"))
    if body.get("add_special_tokens", True):
        tokens.insert(0, BOS)
    return {
        "count": len(tokens),
        "max_model_len": max_model_len or 8192,
        "tokens": tokens,
        "token_strs": None,
    }
