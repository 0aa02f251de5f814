"""Loading: automatic device and dtype (never fp16), real loading code on a local folder,
where the weights come from (a folder, the cache, the Hub) found out without minutes of
retries, and one clear message when the weights cannot be had."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from bot.backends import load_options
from bot.backends.hf import loader
from bot.backends.hf.loader import Source, choose_device, choose_dtype, load, weights_source
from bot.errors import BackendUnavailable, ConfigError
from bot.settings import Settings
from tests.fakes.hub import FakeHub, cache_model

MODEL = "google/medgemma-4b-it"


def fake_gpu(monkeypatch: pytest.MonkeyPatch, major: int | None) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: major is not None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (major or 0, 0))


@pytest.mark.parametrize(
    ("gpu", "requested", "device", "expected"),
    [
        (None, "auto", "cpu", torch.float32),
        (7, "auto", "cuda", torch.float32),  # V100/T4: no bf16, and fp16 is never chosen
        (8, "auto", "cuda", torch.bfloat16),
        (9, "auto", "cuda", torch.bfloat16),
        (8, "float32", "cuda", torch.float32),
        (None, "bfloat16", "cpu", torch.bfloat16),
    ],
)
def test_dtype_rules(
    monkeypatch: pytest.MonkeyPatch,
    gpu: int | None,
    requested: str,
    device: str,
    expected: torch.dtype,
) -> None:
    fake_gpu(monkeypatch, gpu)
    assert choose_dtype(requested, device) == expected


@pytest.mark.parametrize("requested", ["float16", "fp16", "half"])
@pytest.mark.parametrize("gpu", [None, 7, 8])
def test_fp16_is_never_used(
    monkeypatch: pytest.MonkeyPatch, requested: str, gpu: int | None
) -> None:
    fake_gpu(monkeypatch, gpu)
    with pytest.raises(ConfigError, match="fp16"):
        choose_dtype(requested, "cuda" if gpu else "cpu")


def test_device_auto_and_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpu(monkeypatch, None)
    assert choose_device("auto") == "cpu"
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        choose_device("cuda")
    fake_gpu(monkeypatch, 9)
    assert choose_device("auto") == "cuda"


def test_loads_a_local_checkpoint_through_the_auto_classes(tiny_model_dir: Path) -> None:
    processor, model = load(load_options(Settings(model=str(tiny_model_dir), device="cpu")))
    assert type(model).__name__ == "Gemma3ForConditionalGeneration"
    assert model.dtype == torch.float32 and not model.training
    assert model.config._attn_implementation == "sdpa"
    assert processor.tokenizer.boi_token == "<start_of_image>"


def test_a_folder_that_is_not_there_is_not_found(tmp_path: Path, fake_hub: FakeHub) -> None:
    with pytest.raises(BackendUnavailable) as caught:
        load(load_options(Settings(model=str(tmp_path / "no-such-model"), device="cpu")))
    assert caught.value.detail.startswith(f"MEDGEMMA_MODEL={tmp_path / 'no-such-model'}: not found")
    assert fake_hub.requests == []


def test_a_checkpoint_that_cannot_be_loaded_gives_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")  # a folder, but no model
    with pytest.raises(BackendUnavailable) as caught:
        load(load_options(Settings(model=str(tmp_path), device="cpu")))
    assert "HF_TOKEN" in caught.value.detail and "MEDGEMMA_MODEL" in caught.value.detail


def options(**settings: object) -> loader.LoadOptions:
    return load_options(Settings(**{"model": MODEL, "device": "cpu", **settings}))  # type: ignore[arg-type]


def test_a_local_folder_is_read_from_disk_only(
    tiny_model_dir: Path, fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert weights_source(options(model=str(tiny_model_dir))) == Source(local_only=True)
    # A relative folder whose name could be a Hub id is a folder all the same.
    monkeypatch.chdir(tiny_model_dir.parent)
    assert weights_source(options(model=tiny_model_dir.name)) == Source(local_only=True)
    assert fake_hub.requests == []


def test_offline_the_cache_is_used_and_the_hub_never_asked(
    fake_hub: FakeHub, hf_cache: Path, tiny_model_dir: Path
) -> None:
    with pytest.raises(BackendUnavailable) as caught:
        weights_source(options(hf_offline=True))
    assert caught.value.detail.startswith(
        f"HF_HUB_OFFLINE is set and {MODEL} is not in the local Hugging Face cache: download "
        f"it where there is network (`hf download {MODEL}`)"
    )
    cache_model(hf_cache, MODEL, tiny_model_dir)
    assert weights_source(options(hf_offline=True)) == Source(
        local_only=True, notice=f"offline: using the cached copy of {MODEL}"
    )
    assert fake_hub.requests == [] and fake_hub.connections == 0


def test_a_hub_that_answers_is_used(fake_hub: FakeHub, hf_cache: Path) -> None:
    assert weights_source(options()) == Source(local_only=False)
    # One short request about the model (huggingface_hub may fetch its own registries too).
    assert [r for r in fake_hub.requests if "/models/" in r] == [f"GET /api/models/{MODEL}"]


@pytest.mark.parametrize("proxy_status", [None, 403, 404, 502])
def test_an_unreachable_hub_is_found_out_in_seconds(
    monkeypatch: pytest.MonkeyPatch,
    fake_hub: FakeHub,
    hf_cache: Path,
    tiny_model_dir: Path,
    proxy_status: int | None,
) -> None:
    from huggingface_hub import constants

    if proxy_status is None:
        monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # a closed port
    fake_hub.proxy_status = proxy_status  # a proxy that answers for the Hub it blocks
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as caught:
        weights_source(options())
    assert "the Hugging Face Hub cannot be reached" in caught.value.detail
    assert f"`hf download {MODEL}`" in caught.value.detail
    cache_model(hf_cache, MODEL, tiny_model_dir)
    source = weights_source(options())
    assert source.local_only and source.notice is not None
    assert source.notice.endswith(f": using the cached copy of {MODEL}")
    assert time.monotonic() - started < 10


def hub_error(name: str) -> BaseException:
    """transformers wraps the hub's errors in OSError: keep that chain."""
    inner = type(name, (Exception,), {})("401 Client Error: gated")
    outer = OSError("You are trying to access a gated repo.")
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("GatedRepoError", "accept its terms at https://huggingface.co/google/medgemma-4b-it"),
        ("RepositoryNotFoundError", "was not found"),
        ("RevisionNotFoundError", "was not found"),
        ("ConnectError", "unreachable"),
    ],
)
def test_hub_failures_are_explained(error: str, says: str) -> None:
    assert says in loader._why_unavailable(hub_error(error), "google/medgemma-4b-it")


def test_a_processor_without_the_end_of_image_fix_is_warned_about() -> None:
    from bot.backends.hf.loader import tokenizer_problem
    from bot.backends.hf.synthetic import TINY_IDS, build_processor

    fixed = build_processor(TINY_IDS, image_size=28, tokens_per_image=4)
    assert tokenizer_problem(fixed) is None
    # What the processor of a pre-July-2025 checkpoint put around an image's tokens.
    fixed.full_image_sequence = fixed.full_image_sequence.replace("<end_of_image>", "")
    problem = tokenizer_problem(fixed)
    assert problem is not None and "MEDGEMMA_REVISION" in problem
