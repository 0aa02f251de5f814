"""doctor's model check for the in-process backend: a local folder, the cache or the Hub."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from bot.backends.hf.hub import (
    HUB_PAGE,
    PROBE_TIMEOUT_S,
    Probe,
    cached_snapshot,
    local_folder,
    looks_like_path,
    missing_parts,
    probe,
)
from bot.commands.doctor.environment import shown_url
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.commands.doctor import Checks


async def check_model(settings: Settings, checks: Checks) -> None:
    """Name what keeps MEDGEMMA_MODEL from loading, with what to do about it."""
    model = settings.model
    folder = local_folder(model)
    if folder is not None:
        _folder(folder, checks)
    elif looks_like_path(model):
        checks.fail(
            f"MEDGEMMA_MODEL={model}: not found: point it at the folder that holds the "
            "checkpoint, or use a Hub id such as google/medgemma-4b-it"
        )
    elif settings.hf_offline:
        _cache(settings, checks)
    else:
        _hub(settings, await asyncio.to_thread(_ask_hub, settings), checks)


def _folder(folder: Path, checks: Checks) -> None:
    missing = missing_parts(folder)
    if missing:
        checks.fail(
            f"model folder {folder} lacks {', '.join(missing)}: copy the whole checkpoint "
            "there (e.g. `hf download google/medgemma-4b-it --local-dir FOLDER`)"
        )
    else:
        checks.ok(f"model folder {folder} holds config, weights, tokenizer and processor files")


def _cache(settings: Settings, checks: Checks) -> None:
    model = settings.model
    snapshot = cached_snapshot(model, settings.revision or None)
    missing = missing_parts(snapshot) if snapshot is not None else []
    if snapshot is None:
        checks.fail(
            f"HF_HUB_OFFLINE is set and {model} is not in the local Hugging Face cache: run "
            f"`hf download {model}` where there is network and copy the cache here, or set "
            "MEDGEMMA_MODEL to a local folder"
        )
    elif missing:
        checks.fail(
            f"the cached copy of {model} lacks {', '.join(missing)}: run `hf download {model}` "
            "again where there is network"
        )
    else:
        checks.ok(f"{model} is in the local Hugging Face cache (offline: the Hub is not asked)")


def _ask_hub(settings: Settings) -> Probe:
    return probe(
        settings.model,
        revision=settings.revision or None,
        token=settings.hf_token or None,
        timeout_s=PROBE_TIMEOUT_S,
        access=True,
    )


def _hub(settings: Settings, found: Probe, checks: Checks) -> None:
    from huggingface_hub import constants

    model, page = settings.model, HUB_PAGE.format(model=settings.model)
    if found.reply == "ok":
        checks.ok(f"{model} can be downloaded from the Hub with the configured HF_TOKEN")
    elif found.reply == "gated":
        checks.fail(f"{model} is gated: accept the model's terms at {page} and set HF_TOKEN")
    elif found.reply == "token_rejected":
        checks.fail(
            "the Hub rejected HF_TOKEN: create a read token at "
            "https://huggingface.co/settings/tokens and set HF_TOKEN"
        )
    elif found.reply == "not_found":
        checks.fail(
            f"{model} (or MEDGEMMA_REVISION) was not found on the Hub, or HF_TOKEN has no "
            f"access: check the name, accept the model's terms at {page} and set HF_TOKEN"
        )
    elif cached_snapshot(model, settings.revision or None) is not None:
        checks.warn(
            f"cannot reach the Hugging Face Hub at {shown_url(constants.ENDPOINT)} "
            f"({found.reason}): the bot will use the cached copy of {model}; set "
            "HF_HUB_OFFLINE=1 to skip asking"
        )
    else:
        checks.fail(
            f"cannot reach the Hugging Face Hub at {shown_url(constants.ENDPOINT)} "
            f"({found.reason}) and {model} is not cached: check the network and HTTPS_PROXY, "
            f"or run `hf download {model}` where there is network and set MEDGEMMA_MODEL to "
            "that folder"
        )
