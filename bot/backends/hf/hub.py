"""Where a checkpoint comes from: a local folder, the Hugging Face cache, or the Hub.

Shared by the loader (which must not spend minutes in the Hub client's retries when the
network is absent) and by `doctor` (which names the missing piece before a load fails).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HUB_PAGE = "https://huggingface.co/{model}"  # where a gated model's terms are accepted
PROBE_TIMEOUT_S = 5.0  # one request to tell a Hub that answers from a network that does not

# What a checkpoint folder needs, each with the files any one of which provides it.
_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("config.json", ("config.json",)),
    ("tokenizer (tokenizer.json or tokenizer.model)", ("tokenizer.json", "tokenizer.model")),
    (
        "processor config (processor_config.json or preprocessor_config.json)",
        ("processor_config.json", "preprocessor_config.json"),
    ),
)
_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")

Reply = Literal["ok", "gated", "not_found", "token_rejected", "unreachable"]


@dataclass(frozen=True)
class Probe:
    """What one short request to the Hub found; `reason` says why it got no answer."""

    reply: Reply
    reason: str = ""


def looks_like_path(model: str) -> bool:
    """A value written as a folder (`/x`, `./x`, `~/x`, `a/b/c`), never a Hub id (`org/name`)."""
    return model.startswith(("/", ".", "~")) or "\\" in model or model.count("/") > 1


def local_folder(model: str) -> Path | None:
    """The folder MEDGEMMA_MODEL names, if it is one on this machine."""
    path = Path(model).expanduser()
    return path if path.is_dir() else None


def missing_parts(folder: Path) -> list[str]:
    """What the checkpoint in `folder` lacks to load (empty when complete)."""
    missing = [name for name, files in _PARTS if not any((folder / f).is_file() for f in files)]
    weights = _weights_problem(folder)
    return [*missing, weights] if weights else missing


def _weights_problem(folder: Path) -> str | None:
    """None when the weights are all there; else what is missing."""
    for name in _INDEXES:
        index = folder / name
        if index.is_file():
            try:
                shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
            except (OSError, ValueError, KeyError, AttributeError):
                return f"weights ({name} is unreadable)"
            absent = sorted(s for s in shards if not (folder / s).is_file())
            if absent:
                return f"weights ({len(absent)} of the {len(shards)} shards in {name})"
            return None
    if any(folder.glob("*.safetensors")) or (folder / "pytorch_model.bin").is_file():
        return None
    return "weights (*.safetensors, or an index with its shards)"


def cached_snapshot(model: str, revision: str | None) -> Path | None:
    """The folder of the Hugging Face cache's copy of `model` at `revision` (None: not cached)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(model, "config.json", revision=revision or None)
    except ValueError:  # not a valid repo id: nothing of it can be cached
        return None
    return Path(found).parent if isinstance(found, str) else None


def probe(
    model: str, *, revision: str | None, token: str | None, timeout_s: float, access: bool = False
) -> Probe:
    """Ask the Hub about `model` once, without retries, within about `timeout_s`.

    Only an answer that only the Hub gives counts as reached: a proxy or a middlebox
    that answers "403" or "404" for a blocked site is the network being absent. With
    `access`, a second request checks that HF_TOKEN may download the files (the model's
    page answers for gated models whoever asks).
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    api = HfApi(token=token or None)
    try:
        api.model_info(model, revision=revision or None, timeout=timeout_s)
        if access:  # the Hub answered at once: this one has no timeout of its own
            api.auth_check(model)
    except GatedRepoError:
        return Probe("gated")
    except (RepositoryNotFoundError, RevisionNotFoundError):
        return Probe("not_found")
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status == 401:  # "Invalid credentials": a token was sent and refused
            return Probe("token_rejected")
        return Probe("unreachable", f"HTTP {status} from the Hub or a proxy")
    except Exception as exc:  # connection refused, DNS, timeout, TLS, offline mode
        return Probe("unreachable", type(exc).__name__)
    return Probe("ok")
