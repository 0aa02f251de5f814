"""The openai backend and the server's limits: vLLM's refusals, the image-limit probe,
limits read again after a restart, and the server's own token counts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from PIL import Image

from bot.backends.base import ChatMessage, GenerationRequest, ImagePart, TextPart
from bot.backends.openai_compat import OpenAIBackend
from bot.backends.openai_tokens import BOUNDARY_TOKENS, tokenize_url
from bot.errors import (
    BackendError,
    BackendUnavailable,
    ServerContextExceeded,
    ServerImageLimit,
)
from tests.backends.test_openai_compat import SECRET, collect, question
from tests.fakes.openai_server import DEFAULT_MODEL, FakeOpenAIServer, echo_answer
from tests.fakes.vllm import answer_refusal, context_refusal, image_refusal

Make = Callable[..., OpenAIBackend]


@pytest.fixture
async def backend_for() -> AsyncIterator[Make]:
    """Backends for these tests, closed at the end even when a test fails.

    `max_retries=1` shows that refusals are not retried.
    """
    made: list[OpenAIBackend] = []

    def make(server: FakeOpenAIServer, *, max_images: int = 8) -> OpenAIBackend:
        backend = OpenAIBackend(
            base_url=server.base_url,
            api_key="",
            model=DEFAULT_MODEL,
            timeout_s=5.0,
            max_retries=1,
            context_tokens=32768,
            max_images=max_images,
        )
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.aclose()


@pytest.fixture
async def vllm() -> AsyncIterator[FakeOpenAIServer]:
    """The fake acting as vLLM started with --max-model-len 8192."""
    async with FakeOpenAIServer() as server:
        server.max_model_len = 8192
        yield server


def with_images(count: int, text: str = "compare") -> GenerationRequest:
    """A one-turn request with `count` small images."""
    images = tuple(ImagePart(Image.new("RGB", (4, 4))) for _ in range(count))
    return GenerationRequest(
        messages=(ChatMessage(role="user", parts=(*images, TextPart(text))),), max_new_tokens=64
    )


FLAT_CONTEXT = (  # older vLLM's words, which carry no `param`
    "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens "
    "(4000 in the messages, 1000 in the completion). Please reduce the length of the messages."
)
# (case id, the 400 as the server sends it, the error, the words of its detail)
REFUSALS: list[tuple[str, dict[str, Any], type[BackendError], str]] = [
    (
        "vLLM 0.32: the prompt over --max-model-len",
        {"param": "input_tokens", "message": context_refusal(4096, 5000)},
        ServerContextExceeded,
        "over its context (HTTP 400, param input_tokens)",
    ),
    (
        "vLLM 0.32: the text over the context before tokenizing",
        {"param": "input_text", "message": "This model's maximum context length is 4096 (...)"},
        ServerContextExceeded,
        "param input_text",
    ),
    (
        "vLLM 0.32: the answer's allowance over the context",
        {"param": "max_tokens", "message": answer_refusal(9000, 8192)},
        ServerContextExceeded,
        "param max_tokens",
    ),
    (
        "vLLM 0.32: more images than --limit-mm-per-prompt",
        {"param": "image", "message": image_refusal(4)},
        ServerImageLimit,
        "images (HTTP 400, param image) at most 4",
    ),
    (
        "older vLLM, flat, no param: images",
        {"flat": True, "message": "At most 4 image(s) may be provided in one request."},
        ServerImageLimit,
        "at most 4",
    ),
    (
        "older vLLM, flat, no param: context",
        {"flat": True, "message": FLAT_CONTEXT},
        ServerContextExceeded,
        "over its context (HTTP 400)",
    ),
    (
        "OpenAI's code, the message echoing the prompt",
        {"code": "context_length_exceeded", "param": "messages", "message": SECRET},
        ServerContextExceeded,
        "param messages",
    ),
    (
        "another 400, echoing the prompt and vLLM's image words",
        {"param": "top_k", "message": f"{SECRET} At most 3 image(s) may be provided"},
        BackendError,
        "HTTP 400 (BadRequestError/400)",
    ),
]


@pytest.mark.parametrize(
    ("name", "sent", "error", "says"), REFUSALS, ids=[case[0] for case in REFUSALS]
)
async def test_refusals_become_their_own_errors_asked_once(
    backend_for: Make,
    fake_openai: FakeOpenAIServer,
    caplog: pytest.LogCaptureFixture,
    name: str,
    sent: dict[str, Any],
    error: type[BackendError],
    says: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    backend = backend_for(fake_openai)
    await backend.start()
    fields = {"code": 400, **sent}
    fake_openai.fail(400, error_type="BadRequestError", **fields)
    with pytest.raises(BackendError) as caught:
        await collect(backend, question(SECRET))
    assert type(caught.value) is error
    assert says in caught.value.detail
    assert len(fake_openai.requests) == 1  # a refusal is not retried
    for leak in (SECRET, "MRN", "maximum context"):
        assert leak not in f"{caught.value!r} {caught.value.detail} {caplog.text}"


# (case id, --limit-mm-per-prompt, --max-model-len, the cap learnt, the refusals the probe met)
PROBES: list[tuple[str, int | None, int | None, int, list[str]]] = [
    ("vLLM takes fewer images than the setting", 4, 8192, 4, ["image"]),
    ("vLLM takes as many as the setting", 16, 8192, 8, []),
    ("vLLM counts the images, then refuses the length", None, 1024, 8, ["input_tokens"]),
    ("a server without max_model_len is not probed", 4, None, 8, []),
]


@pytest.mark.parametrize(
    ("name", "image_limit", "context", "learnt", "refused"), PROBES, ids=[c[0] for c in PROBES]
)
async def test_the_image_limit_is_learnt_at_start_up(
    backend_for: Make,
    fake_openai: FakeOpenAIServer,
    name: str,
    image_limit: int | None,
    context: int | None,
    learnt: int,
    refused: list[str],
) -> None:
    fake_openai.image_limit, fake_openai.max_model_len = image_limit, context
    backend = backend_for(fake_openai, max_images=8)
    await backend.start()
    assert backend.capabilities.max_images == learnt
    assert fake_openai.refusals == refused
    probes = fake_openai.requests
    assert len(probes) == (1 if context else 0)
    for probe in probes:  # the setting's count of tiny images and a one-token answer
        parts = probe["messages"][0]["content"]
        assert sum(p["type"] == "image_url" for p in parts) == 8
        assert probe["max_tokens"] == 1 and probe["stream"] is True


async def test_a_failed_probe_keeps_the_setting(
    backend_for: Make, vllm: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    vllm.fail(500)
    backend = backend_for(vllm, max_images=8)
    await backend.start()
    assert backend.capabilities.max_images == 8
    assert len(vllm.requests) == 1  # the probe is not retried either
    assert "images_unprobed" in [r.msg for r in caplog.records]


async def test_limits_are_read_again_after_the_server_restarts(
    backend_for: Make, vllm: FakeOpenAIServer
) -> None:
    backend = backend_for(vllm)
    await backend.start()
    assert (backend.capabilities.context_tokens, vllm.model_listings) == (8192, 1)
    await vllm.stop()
    with pytest.raises(BackendUnavailable):
        await collect(backend, question("while it is down"))
    vllm.max_model_len, vllm.image_limit = 4096, 2
    await vllm.serve_again()
    assert "".join(await collect(backend, question("back"))) == echo_answer("back")
    assert backend.capabilities.context_tokens == 4096
    assert backend.capabilities.max_images == 2
    assert vllm.model_listings == 2
    await collect(backend, question("and again"))
    assert vllm.model_listings == 2  # read once after the loss, not on every request


async def test_a_refusal_for_length_reads_the_context_at_once_and_boundedly(
    backend_for: Make, vllm: FakeOpenAIServer
) -> None:
    backend = backend_for(vllm)
    await backend.start()
    vllm.max_model_len = 600  # restarted with a smaller --max-model-len, unseen
    for _ in range(2):
        with pytest.raises(ServerContextExceeded):
            await collect(backend, question("x" * 700))
        # The next question is planned within the new context, before it is asked.
        assert backend.capabilities.context_tokens == 600
    assert vllm.model_listings == 2  # the second refusal came within REFRESH_INTERVAL_S
    assert vllm.refusals == ["input_tokens"] * 3  # two questions, and the image probe's


async def test_a_refusal_for_images_learns_the_stated_limit(
    backend_for: Make, vllm: FakeOpenAIServer
) -> None:
    backend = backend_for(vllm, max_images=8)
    await backend.start()
    assert backend.capabilities.max_images == 8
    vllm.image_limit = 2  # restarted with --limit-mm-per-prompt 2, unseen
    with pytest.raises(ServerImageLimit):
        await collect(backend, with_images(3))
    assert backend.capabilities.max_images == 2
    assert vllm.model_listings == 1  # the refusal said it all
    assert "".join(await collect(backend, with_images(2))) == echo_answer("compare")


async def test_token_counts_come_from_the_servers_tokenizer(
    backend_for: Make, vllm: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    vllm.tokenizer = True  # byte-level, as the tiny Gemma 3 is: a byte a token
    backend = backend_for(vllm)
    await backend.start()
    texts = ["x" * 30, "1234567890" * 3, SECRET]
    estimates = [backend.count_text_tokens(text) for text in texts]
    assert estimates == [10, 30, 19]  # the safe estimate, until the server has counted
    await collect(backend, question("a question"))
    assert vllm.tokenized == ["1", *texts]  # start-up's check, then the waiting texts
    counted = [backend.count_text_tokens(text) for text in texts]
    assert counted == [len(t.encode()) + BOUNDARY_TOKENS for t in texts]
    await collect(backend, question("another"))
    assert len(vllm.tokenized) == 4  # known texts are not asked about again
    assert SECRET not in caplog.text


async def test_without_a_tokenizer_the_estimate_stands(
    backend_for: Make, vllm: FakeOpenAIServer
) -> None:
    backend = backend_for(vllm)
    await backend.start()
    assert backend.count_text_tokens("1234567890") == 10
    await collect(backend, question("a question"))
    assert backend.count_text_tokens("1234567890") == 10
    assert vllm.tokenized == []


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        ("http://vllm:8000/v1", "http://vllm:8000/tokenize"),
        ("http://vllm:8000/v1/", "http://vllm:8000/tokenize"),
        ("https://gateway.example/medgemma/v1", "https://gateway.example/medgemma/tokenize"),
        ("http://vllm:8000", "http://vllm:8000/tokenize"),
    ],
)
def test_tokenize_sits_beside_v1(base_url: str, url: str) -> None:
    assert tokenize_url(base_url) == url
