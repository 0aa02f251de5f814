"""doctor's model check for the in-process backend: a local folder is checked as a folder,
a Hub id on a fake Hub, or in the cache when HF_HUB_OFFLINE is set (and then the Hub is
never asked)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.commands.doctor import doctor
from tests.commands.helpers import environment
from tests.fakes.hub import BAD_TOKEN, FakeHub, cache_model

MODEL = "google/medgemma-4b-it"


async def model_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> str:
    """doctor's one line about the model (the GPU line fails on this machine: ignored)."""
    environment(monkeypatch, tmp_path, **env)
    lines: list[str] = []
    await doctor(lines.append)
    others = ("GPU", "settings valid", "SLACK_BOT_TOKEN", "taken for MedGemma 1")
    [line] = [line for line in lines if not any(word in line for word in others)]
    return line


def checkpoint_copy(tiny_model_dir: Path, tmp_path: Path, *, without: tuple[str, ...]) -> Path:
    folder = tmp_path / "medgemma"
    shutil.copytree(tiny_model_dir, folder)
    for name in without:
        (folder / name).unlink()
    return folder


async def test_a_complete_local_folder_is_ok_without_asking_the_hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path, fake_hub: FakeHub
) -> None:
    line = await model_line(monkeypatch, tmp_path, MEDGEMMA_MODEL=str(tiny_model_dir))
    assert line == (
        f"ok   model folder {tiny_model_dir} holds config, weights, tokenizer and processor files"
    )
    assert fake_hub.requests == []


async def test_a_local_folder_names_what_it_lacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path
) -> None:
    folder = checkpoint_copy(
        tiny_model_dir, tmp_path, without=("tokenizer.json", "model.safetensors")
    )
    line = await model_line(monkeypatch, tmp_path, MEDGEMMA_MODEL=str(folder))
    assert line.startswith(f"FAIL model folder {folder} lacks tokenizer (tokenizer.json")
    assert "weights (*.safetensors" in line and "config.json" not in line.split(":")[0]
    assert line.endswith("--local-dir FOLDER`)")


async def test_a_missing_shard_of_an_index_is_counted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path
) -> None:
    folder = checkpoint_copy(tiny_model_dir, tmp_path, without=())
    (folder / "model.safetensors").rename(folder / "model-00001-of-00002.safetensors")
    shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    index = {"metadata": {}, "weight_map": {"a": shards[0], "b": shards[1]}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index), encoding="utf-8")
    line = await model_line(monkeypatch, tmp_path, MEDGEMMA_MODEL=str(folder))
    assert "lacks weights (1 of the 2 shards in model.safetensors.index.json)" in line


@pytest.mark.parametrize("path", ["/srv/models/medgemma-4b-it", "./medgemma", "~/models/medgemma"])
async def test_a_path_that_does_not_exist_is_not_found_not_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_hub: FakeHub, path: str
) -> None:
    line = await model_line(monkeypatch, tmp_path, MEDGEMMA_MODEL=path)
    assert line.startswith(f"FAIL MEDGEMMA_MODEL={path}: not found: point it at the folder")
    assert "unreachable" not in line and "Hub id" in line
    assert fake_hub.requests == []


async def test_offline_the_cache_is_checked_and_the_hub_never_asked(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    tiny_model_dir: Path,
    fake_hub: FakeHub,
    hf_cache: Path,
) -> None:
    env = {"MEDGEMMA_MODEL": MODEL, "HF_HUB_OFFLINE": "1"}
    missing = await model_line(monkeypatch, tmp_path, **env)
    assert missing.startswith(f"FAIL HF_HUB_OFFLINE is set and {MODEL} is not in the local")
    assert f"`hf download {MODEL}`" in missing
    cache_model(hf_cache, MODEL, tiny_model_dir)
    found = await model_line(monkeypatch, tmp_path, **env)
    assert (
        found == f"ok   {MODEL} is in the local Hugging Face cache (offline: the Hub is not asked)"
    )
    assert fake_hub.requests == []


@pytest.mark.parametrize(
    ("setup", "token", "says"),
    [
        ("open", "", f"ok   {MODEL} can be downloaded from the Hub with the configured HF_TOKEN"),
        (
            "gated",
            "hf_not_accepted",
            f"FAIL {MODEL} is gated: accept the model's terms at https://huggingface.co/{MODEL} "
            "and set HF_TOKEN",
        ),
        ("open", BAD_TOKEN, "FAIL the Hub rejected HF_TOKEN: create a read token at"),
        ("absent", "", f"FAIL {MODEL} (or MEDGEMMA_REVISION) was not found on the Hub"),
    ],
)
async def test_a_hub_id_is_checked_on_the_hub(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_hub: FakeHub,
    setup: str,
    token: str,
    says: str,
) -> None:
    if setup == "gated":
        fake_hub.gated.add(MODEL)
    if setup == "absent":
        fake_hub.models.clear()
    env = {"MEDGEMMA_MODEL": MODEL, **({"HF_TOKEN": token} if token else {})}
    line = await model_line(monkeypatch, tmp_path, **env)
    assert line.startswith(says)
    assert fake_hub.requests  # asked


async def test_a_gated_model_with_accepted_terms_is_ok(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_hub: FakeHub
) -> None:
    fake_hub.gated.add(MODEL)
    fake_hub.granted.add("hf_accepted")
    line = await model_line(monkeypatch, tmp_path, MEDGEMMA_MODEL=MODEL, HF_TOKEN="hf_accepted")
    assert line.startswith("ok")


async def test_an_unreachable_hub_fails_unless_the_model_is_cached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path, hf_cache: Path
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # a closed port
    line = await model_line(monkeypatch, tmp_path, MEDGEMMA_MODEL=MODEL)
    assert line.startswith(
        "FAIL cannot reach the Hugging Face Hub at http://127.0.0.1:9 (ConnectError) and "
        f"{MODEL} is not cached: check the network and HTTPS_PROXY"
    )
    cache_model(hf_cache, MODEL, tiny_model_dir)
    line = await model_line(monkeypatch, tmp_path, MEDGEMMA_MODEL=MODEL)
    assert line.startswith("warn cannot reach the Hugging Face Hub")
    assert f"the bot will use the cached copy of {MODEL}" in line
