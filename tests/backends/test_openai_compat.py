"""Tests for bot.backends.openai_compat against the fake OpenAI server on loopback."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable

import openai
import pytest
from PIL import Image

from bot.backends.base import (
    ChatMessage,
    GenerationRequest,
    ImagePart,
    QueueCallback,
    TextPart,
)
from bot.backends.openai_compat import OpenAIBackend, server_host, to_openai_messages
from bot.errors import BackendError, BackendTimeout, BackendUnavailable
from tests.fakes.openai_server import DEFAULT_MODEL, FakeOpenAIServer, echo_answer

SECRET = "Jane Doe, MRN 0042: is the mass malignant?"  # user text that must never leak


def make_backend(
    base_url: str,
    *,
    api_key: str = "",
    timeout_s: float = 2.0,
    max_retries: int = 0,
    context_tokens: int = 8192,
    tokens_per_image: int = 256,
) -> OpenAIBackend:
    """A backend for tests: a 2 s timeout (short, yet safe on a loaded box), no retries."""
    return OpenAIBackend(
        base_url=base_url,
        api_key=api_key,
        model=DEFAULT_MODEL,
        timeout_s=timeout_s,
        max_retries=max_retries,
        context_tokens=context_tokens,
        tokens_per_image=tokens_per_image,
    )


@pytest.fixture
async def backend(fake_openai: FakeOpenAIServer) -> AsyncIterator[OpenAIBackend]:
    started = make_backend(fake_openai.base_url)
    await started.start()
    yield started
    await started.aclose()


def question(
    text: str, *, request_id: str = "", on_queue_position: QueueCallback | None = None
) -> GenerationRequest:
    """A one-turn request."""
    return GenerationRequest(
        messages=(ChatMessage(role="user", parts=(TextPart(text),)),),
        max_new_tokens=64,
        request_id=request_id,
        on_queue_position=on_queue_position,
    )


async def collect(backend: OpenAIBackend, request: GenerationRequest) -> list[str]:
    """Every chunk the backend yields for a request."""
    return [piece async for piece in backend.stream(request)]


def pattern(mode: str, size: tuple[int, int]) -> Image.Image:
    """An image whose every pixel differs from its neighbours."""
    channels = len(mode)
    data = bytes((i * 37 + 11) % 256 for i in range(size[0] * size[1] * channels))
    return Image.frombytes(mode, size, data)


def text_part(text: str) -> dict[str, str]:
    """An OpenAI text content part."""
    return {"type": "text", "text": text}


def decode_data_url(url: str) -> Image.Image:
    """The image inside a PNG data URL."""
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))
    assert image.format == "PNG"
    return image


async def test_request_has_the_openai_shape(
    backend: OpenAIBackend, fake_openai: FakeOpenAIServer
) -> None:
    xray, gray = pattern("RGB", (7, 5)), pattern("L", (4, 3))
    messages = (
        ChatMessage(role="system", parts=(TextPart("You are an expert radiologist."),)),
        ChatMessage(role="user", parts=(ImagePart(xray), TextPart("What do you see?"))),
        ChatMessage(role="assistant", parts=(TextPart("A chest film."),)),
        ChatMessage(role="user", parts=(TextPart("Compare:"), ImagePart(gray), TextPart("Now?"))),
    )
    request = GenerationRequest(messages=messages, max_new_tokens=321, request_id="req-7")
    assert await collect(backend, request)

    [body] = fake_openai.requests
    parts = [p for m in body["messages"] if m["role"] == "user" for p in m["content"]]
    urls = [p.pop("image_url")["url"] for p in parts if p["type"] == "image_url"]
    image = {"type": "image_url"}  # its URL, popped above, is checked below
    assert body == {
        "model": DEFAULT_MODEL,
        "stream": True,
        "temperature": 0,
        "max_tokens": 321,
        "messages": [
            {"role": "system", "content": "You are an expert radiologist."},
            {"role": "user", "content": [image, text_part("What do you see?")]},
            {"role": "assistant", "content": "A chest film."},
            {"role": "user", "content": [text_part("Compare:"), image, text_part("Now?")]},
        ],
    }
    first, second = (decode_data_url(url) for url in urls)
    assert (first.mode, first.size, first.tobytes()) == ("RGB", xray.size, xray.tobytes())
    assert (second.mode, second.tobytes()) == ("L", gray.tobytes())  # grey: one channel
    headers = fake_openai.headers[0]
    assert headers["Authorization"] == "Bearer none"
    assert headers["X-Request-Id"] == "req-7"


def test_grey_images_go_as_one_channel_losslessly() -> None:
    colour = pattern("RGB", (9, 7))
    grey = Image.merge("RGB", [pattern("L", (9, 7))] * 3)  # a radiograph decoded as RGB
    almost = grey.copy()
    almost.putpixel((8, 6), (1, 2, 1))  # one pixel of colour: RGB it stays
    message = ChatMessage("user", tuple(ImagePart(i) for i in (colour, grey, almost)))
    [converted] = to_openai_messages([message])
    sent = [decode_data_url(part["image_url"]["url"]) for part in converted["content"]]
    assert [image.mode for image in sent] == ["RGB", "L", "RGB"]
    # What the server reads (vLLM converts every image to RGB) is the original, exactly.
    for original, image in zip((colour, grey, almost), sent, strict=True):
        assert image.convert("RGB").tobytes() == original.tobytes()


def test_many_images_keep_their_order() -> None:
    shades = [Image.new("RGB", (4, 4), (i * 20, 255 - i * 20, i)) for i in range(12)]
    shades[5] = Image.new("RGB", (4, 4), (7, 7, 7))  # a grey one among them
    messages = [
        ChatMessage("user", (ImagePart(shades[0]), TextPart("first"), ImagePart(shades[1]))),
        ChatMessage("assistant", (TextPart("ok"),)),
        ChatMessage("user", tuple(ImagePart(i) for i in shades[2:])),
    ]
    converted = to_openai_messages(messages)
    contents = [m["content"] for m in converted if m["role"] == "user"]
    urls = [p["image_url"]["url"] for c in contents for p in c if p["type"] == "image_url"]
    sent = [decode_data_url(u).convert("RGB").getpixel((0, 0)) for u in urls]
    assert sent == [i.getpixel((0, 0)) for i in shades]


async def test_images_outside_user_turns_are_refused() -> None:
    message = ChatMessage(role="assistant", parts=(ImagePart(pattern("RGB", (2, 2))),))
    with pytest.raises(ValueError, match="assistant"):
        to_openai_messages([message])


async def test_chunks_arrive_in_order(
    backend: OpenAIBackend, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply(chunks=["The ", "lungs", " are ", "clear", "."])
    assert await collect(backend, question("Lungs?")) == ["The ", "lungs", " are ", "clear", "."]


async def test_thinking_is_stripped_across_chunks(
    backend: OpenAIBackend, fake_openai: FakeOpenAIServer
) -> None:
    chunks = ["<unu", "sed94>thought\nThe user", " asks<unused", "95>", "\n\n", "No ", "fracture."]
    fake_openai.reply(chunks=chunks)
    pieces = await collect(backend, question("Fracture?"))
    assert "".join(pieces) == "No fracture."
    assert pieces[0] == "No "


async def test_an_answer_that_is_only_a_thought_yields_nothing(
    backend: OpenAIBackend, fake_openai: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.reply(chunks=["<unused94>thought\n", "Considering the ", "opacity"])
    assert await collect(backend, question("Opacity?", request_id="req-9")) == []
    [record] = [r for r in caplog.records if r.msg == "ended_in_thought"]
    assert record.fields["request_id"] == "req-9"  # type: ignore[attr-defined]
    assert "opacity" not in caplog.text


def bad_request(server: FakeOpenAIServer) -> None:
    """A 400 that is no limit of the server's, its message echoing the prompt."""
    server.fail(400, error_type="BadRequestError", code=400, param="top_k", message=SECRET)


def stall_with_pings(server: FakeOpenAIServer) -> None:
    """A stall that keeps the socket busy: only the backend's idle timeout can end it."""
    server.hang(after_chunks=1, keepalive_s=0.1)


Inject = Callable[[FakeOpenAIServer], None]
FAULTS: list[tuple[str, Inject, type[BackendError], str]] = [
    ("500", lambda s: s.fail(500), BackendError, "HTTP 500 (InternalServerError)"),
    ("400", bad_request, BackendError, "HTTP 400 (BadRequestError/400)"),
    ("text as type", lambda s: s.fail(422, error_type=SECRET), BackendError, "HTTP 422 (?)"),
    ("event mid-stream", lambda s: s.stream_error(message=SECRET), BackendError, "mid-stream"),
    ("hang before headers", lambda s: s.hang(), BackendTimeout, "nothing for 2 s"),
    ("stall mid-stream", lambda s: s.hang(after_chunks=2), BackendTimeout, "nothing for 2 s"),
    ("stall with pings", stall_with_pings, BackendTimeout, "nothing for 2 s"),
    ("drop mid-stream", lambda s: s.drop(after_chunks=1), BackendError, "mid-answer"),
]


@pytest.mark.parametrize(("name", "inject", "error", "says"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_failures_map_to_backend_errors_and_recover(
    backend: OpenAIBackend,
    fake_openai: FakeOpenAIServer,
    caplog: pytest.LogCaptureFixture,
    name: str,
    inject: Inject,
    error: type[BackendError],
    says: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    inject(fake_openai)
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        async with asyncio.timeout(10):  # a guard: the backend's own timeout must fire first
            await collect(backend, question(SECRET))
    assert type(caught.value) is error
    assert time.monotonic() - started < 8
    assert says in str(caught.value)
    for leak in (SECRET, "MRN"):
        assert leak not in f"{caught.value} {caught.value!r} {caught.value.detail} {caplog.text}"
    # The same backend answers the next question.
    assert "".join(await collect(backend, question("again"))) == echo_answer("again")


async def test_stopping_early_leaves_the_backend_usable(backend: OpenAIBackend) -> None:
    stream = backend.stream(question("long"))
    assert await anext(stream)
    await stream.aclose()
    assert "".join(await collect(backend, question("next"))) == echo_answer("next")


async def test_twenty_concurrent_streams_get_their_own_answers(
    fake_openai: FakeOpenAIServer,
) -> None:
    backend = make_backend(fake_openai.base_url, timeout_s=10)  # a loaded CI box is slow
    await backend.start()
    asks = [f"Question {n} about film {n * 7}" for n in range(20)]
    answers = await asyncio.gather(*(collect(backend, question(text)) for text in asks))
    assert ["".join(pieces) for pieces in answers] == [echo_answer(text) for text in asks]
    assert len(fake_openai.requests) == 20
    await backend.aclose()


async def test_retries_a_server_error_once(fake_openai: FakeOpenAIServer) -> None:
    backend = make_backend(fake_openai.base_url, max_retries=1)
    await backend.start()
    fake_openai.fail(503, retry_after_ms=10)
    assert "".join(await collect(backend, question("retry"))) == echo_answer("retry")
    assert len(fake_openai.requests) == 2
    await backend.aclose()


async def test_reports_running_to_the_queue_callback(backend: OpenAIBackend) -> None:
    positions: list[int] = []
    await collect(backend, question("queued", on_queue_position=positions.append))
    assert positions == [0]


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_start_fails_clearly_when_the_server_is_down() -> None:
    port = free_port()
    backend = make_backend(f"http://user:pw@127.0.0.1:{port}/v1", api_key="sk-secret-key")
    with pytest.raises(BackendUnavailable) as caught:
        await backend.start()
    assert f"127.0.0.1:{port}" in str(caught.value)
    for leak in ("sk-secret-key", "pw", "/v1"):
        assert leak not in str(caught.value)
    await backend.aclose()


async def test_start_fails_when_the_key_is_refused() -> None:
    async with FakeOpenAIServer(api_key="right-key") as server:
        backend = make_backend(server.base_url, api_key="wrong-key")
        with pytest.raises(BackendUnavailable, match="HTTP 401") as caught:
            await backend.start()
        assert "wrong-key" not in str(caught.value)
        await backend.aclose()


async def test_sends_the_configured_key() -> None:
    async with FakeOpenAIServer(api_key="right-key") as server:
        backend = make_backend(server.base_url, api_key="right-key")
        await backend.start()
        assert "".join(await collect(backend, question("key"))) == echo_answer("key")
        await backend.aclose()


async def test_stream_fails_when_the_server_went_away() -> None:
    async with FakeOpenAIServer() as server:
        backend = make_backend(server.base_url)
        await backend.start()
    with pytest.raises(BackendUnavailable):
        await collect(backend, question(SECRET))
    await backend.aclose()


@pytest.mark.parametrize(
    ("models", "level", "listed"),
    [
        ([DEFAULT_MODEL, "other"], logging.INFO, True),
        (["other"], logging.WARNING, False),
    ],
)
async def test_start_logs_whether_the_model_is_listed(
    caplog: pytest.LogCaptureFixture, models: list[str], level: int, listed: bool
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    async with FakeOpenAIServer(models=models) as server:
        backend = make_backend(server.base_url)
        await backend.start()
        await backend.aclose()
        assert server.model_listings == 1
    [record] = [r for r in caplog.records if r.msg == "openai_server"]
    assert (record.levelno, record.fields["model_listed"]) == (level, listed)  # type: ignore[attr-defined]


async def test_stream_before_start_is_a_bug() -> None:
    with pytest.raises(RuntimeError, match="start"):
        await collect(make_backend("http://127.0.0.1:9/v1"), question("early"))


def test_capabilities_and_token_estimate() -> None:
    backend = make_backend("http://127.0.0.1:9/v1", context_tokens=32768, tokens_per_image=260)
    assert backend.capabilities.context_tokens == 32768
    assert backend.capabilities.tokens_per_image == 260
    assert backend.count_text_tokens("abcdef") == 2


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://user:secret@vllm.internal:8000/v1?key=x", "vllm.internal:8000"),
        ("https://[::1]:8443/v1", "[::1]:8443"),
        ("http://localhost/v1", "localhost"),
        ("not a url", "?"),
    ],
)
def test_server_host_hides_credentials_and_paths(url: str, host: str) -> None:
    assert server_host(url) == host


async def test_the_fake_answers_without_streaming(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply("Plain reply.")
    async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="k") as client:
        completion = await client.chat.completions.create(
            model=DEFAULT_MODEL, messages=[{"role": "user", "content": "hi"}]
        )
    assert completion.choices[0].message.content == "Plain reply."
    assert "stream" not in fake_openai.requests[0]


async def test_the_servers_reported_context_replaces_the_setting(
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_openai.max_model_len = 40960  # as vLLM reports --max-model-len
    backend = make_backend(fake_openai.base_url, context_tokens=32768)
    await backend.start()
    try:
        assert backend.capabilities.context_tokens == 40960
    finally:
        await backend.aclose()


async def test_without_a_reported_context_the_setting_stands(
    fake_openai: FakeOpenAIServer,
) -> None:
    backend = make_backend(fake_openai.base_url, context_tokens=32768)
    await backend.start()
    try:
        assert backend.capabilities.context_tokens == 32768
    finally:
        await backend.aclose()


@pytest.mark.parametrize(
    ("finish_reason", "heard"),
    [("stop", ["stop"]), ("length", ["length"]), ("content_filter", ["stop"]), (None, [])],
)
async def test_why_the_server_stopped_is_passed_on(
    backend: OpenAIBackend,
    fake_openai: FakeOpenAIServer,
    finish_reason: str | None,
    heard: list[str],
) -> None:
    fake_openai.reply("The lungs are", finish_reason=finish_reason)
    reasons: list[str] = []
    request = dataclasses.replace(question("describe"), on_finish=reasons.append)
    assert "".join(await collect(backend, request)) == "The lungs are"
    assert reasons == heard  # "length": cut at max_tokens; a server that never says: nothing
