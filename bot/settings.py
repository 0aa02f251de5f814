"""One frozen settings object, read once from the environment (and a `.env` file).

Every setting has a default and a line in the README's configuration table. A missing
or malformed value raises ConfigError with one line that says what to set, before the
bot connects to anything.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.errors import ConfigError

DEFAULT_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
SPECIALTIES = ("radiologist", "dermatologist", "pathologist", "ophthalmologist")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, validated."""

    # Slack
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = "https://slack.com/api/"
    slack_api_timeout_s: float = 30.0
    download_timeout_s: float = 60.0
    max_file_mb: float = 50.0
    # Model and backend
    backend: str = "transformers"
    model: str = "google/medgemma-4b-it"
    revision: str = ""
    base_url: str = ""
    api_key: str = ""
    hf_token: str = ""
    device: str = "auto"
    dtype: str = "auto"
    multi_gpu: bool = False
    quantize: str = "none"
    compile: str = "auto"
    max_batch: int = 32
    slot_tokens: int = 4096
    max_waiting: int = 64
    timeout_s: float = 300.0
    max_new_tokens: int = 1024
    # Conversation and images
    context_tokens: int = 8192
    max_images: int = 8
    max_slices: int = 85
    max_pixels: int = 100_000_000
    pad_to_square: bool = True
    pathology_tiles: int = 1
    specialty: str = "radiologist"
    channel_specialties: Mapping[str, str] = field(default_factory=dict)
    prompts_dir: Path = DEFAULT_PROMPTS
    image_cache_mb: int = 512
    image_cache_ttl_s: float = 3600.0
    # Front
    max_pending: int = 64
    log_level: str = "INFO"
    log_format: str = "json"

    @property
    def max_file_bytes(self) -> int:
        """The download cap in bytes."""
        return int(self.max_file_mb * 1024 * 1024)

    def require_slack(self, *, http: bool) -> None:
        """Check the Slack tokens needed by `run` (Socket Mode or HTTP)."""
        if not self.slack_bot_token:
            raise ConfigError("Set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...)")
        if not self.slack_bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        if http and not self.slack_signing_secret:
            raise ConfigError(
                "Set SLACK_SIGNING_SECRET (Basic Information > Signing Secret) for --http"
            )
        if not http and not self.slack_app_token:
            raise ConfigError(
                "Set SLACK_APP_TOKEN to an app-level token (xapp-...) with connections:write "
                "for Socket Mode, or run with --http --port N"
            )
        if not http and not self.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")


_ENV: dict[str, tuple[str, type]] = {
    "SLACK_BOT_TOKEN": ("slack_bot_token", str),
    "SLACK_APP_TOKEN": ("slack_app_token", str),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", str),
    "SLACK_API_URL": ("slack_api_url", str),
    "SLACK_API_TIMEOUT_S": ("slack_api_timeout_s", float),
    "SLACK_DOWNLOAD_TIMEOUT_S": ("download_timeout_s", float),
    "MEDGEMMA_MAX_FILE_MB": ("max_file_mb", float),
    "MEDGEMMA_BACKEND": ("backend", str),
    "MEDGEMMA_MODEL": ("model", str),
    "MEDGEMMA_REVISION": ("revision", str),
    "MEDGEMMA_BASE_URL": ("base_url", str),
    "MEDGEMMA_API_KEY": ("api_key", str),
    "HF_TOKEN": ("hf_token", str),
    "MEDGEMMA_DEVICE": ("device", str),
    "MEDGEMMA_DTYPE": ("dtype", str),
    "MEDGEMMA_MULTI_GPU": ("multi_gpu", bool),
    "MEDGEMMA_QUANTIZE": ("quantize", str),
    "MEDGEMMA_COMPILE": ("compile", str),
    "MEDGEMMA_MAX_BATCH": ("max_batch", int),
    "MEDGEMMA_SLOT_TOKENS": ("slot_tokens", int),
    "MEDGEMMA_MAX_WAITING": ("max_waiting", int),
    "MEDGEMMA_TIMEOUT_S": ("timeout_s", float),
    "MEDGEMMA_MAX_NEW_TOKENS": ("max_new_tokens", int),
    "MEDGEMMA_CONTEXT_TOKENS": ("context_tokens", int),
    "MEDGEMMA_MAX_IMAGES": ("max_images", int),
    "MEDGEMMA_MAX_SLICES": ("max_slices", int),
    "MEDGEMMA_MAX_PIXELS": ("max_pixels", int),
    "MEDGEMMA_PAD_TO_SQUARE": ("pad_to_square", bool),
    "MEDGEMMA_PATHOLOGY_TILES": ("pathology_tiles", int),
    "MEDGEMMA_SPECIALTY": ("specialty", str),
    "MEDGEMMA_CHANNEL_SPECIALTIES": ("channel_specialties", dict),
    "MEDGEMMA_PROMPTS_DIR": ("prompts_dir", Path),
    "MEDGEMMA_IMAGE_CACHE_MB": ("image_cache_mb", int),
    "MEDGEMMA_IMAGE_CACHE_TTL_S": ("image_cache_ttl_s", float),
    "MEDGEMMA_MAX_PENDING": ("max_pending", int),
    "LOG_LEVEL": ("log_level", str),
    "LOG_FORMAT": ("log_format", str),
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "backend": ("transformers", "openai"),
    "device": ("auto", "cuda", "cpu"),
    "dtype": ("auto", "bfloat16", "float32"),
    "quantize": ("none", "4bit"),
    "compile": ("auto", "on", "off"),
    "specialty": SPECIALTIES,
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "log_format": ("json", "text"),
}

_MINIMUM: dict[str, float] = {
    "slack_api_timeout_s": 1,
    "download_timeout_s": 1,
    "max_file_mb": 0.001,
    "max_batch": 1,
    "slot_tokens": 256,
    "max_waiting": 1,
    "timeout_s": 1,
    "max_new_tokens": 1,
    "context_tokens": 512,
    "max_images": 1,
    "max_slices": 1,
    "max_pixels": 1_000_000,
    "pathology_tiles": 1,
    "image_cache_mb": 0,
    "image_cache_ttl_s": 0,
    "max_pending": 1,
}


def _parse(env_name: str, raw: str, kind: type) -> Any:
    text = raw.strip()
    if kind is str:
        return text
    if kind is Path:
        return Path(text).expanduser()
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{env_name} must be true or false, not {text!r}")
    if kind is dict:
        return _parse_channel_map(env_name, text)
    try:
        number = kind(text)
    except ValueError:
        raise ConfigError(f"{env_name} must be a number, not {text!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{env_name} must be a finite number, not {text!r}")
    return number


def _parse_channel_map(env_name: str, text: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in filter(None, (i.strip() for i in text.split(","))):
        channel, _, specialty = item.partition("=")
        if not channel.strip() or specialty.strip() not in SPECIALTIES:
            raise ConfigError(
                f"{env_name} takes CHANNEL_ID=specialty pairs separated by commas, specialty "
                f"one of {', '.join(SPECIALTIES)}"
            )
        mapping[channel.strip()] = specialty.strip()
    return mapping


def _validate(values: dict[str, Any]) -> None:
    names = {attr: env for env, (attr, _) in _ENV.items()}
    for attr, choices in _CHOICES.items():
        if attr in values:
            if attr == "log_level":
                values[attr] = values[attr].upper()
            if values[attr] not in choices:
                raise ConfigError(f"{names[attr]} must be one of {', '.join(choices)}")
    for attr, low in _MINIMUM.items():
        if attr in values and values[attr] < low:
            raise ConfigError(f"{names[attr]} must be at least {low:g}")
    api = urlsplit(values.get("slack_api_url", Settings.slack_api_url))
    if api.scheme not in ("http", "https") or not api.hostname:
        raise ConfigError("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
    if values.get("backend") == "openai" and not values.get("base_url"):
        raise ConfigError(
            "Set MEDGEMMA_BASE_URL (e.g. http://vllm:8000/v1) for MEDGEMMA_BACKEND=openai"
        )


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> Settings:
    """Build Settings from `environ` (default: the process environment plus `.env`)."""
    source: dict[str, str] = {}
    if environ is None:
        from dotenv import dotenv_values

        path = dotenv or Path(".env")
        if path.is_file():
            source.update({k: v for k, v in dotenv_values(path).items() if v is not None})
        source.update(os.environ)  # the real environment wins over the file
    else:
        source.update(environ)
    values: dict[str, Any] = {}
    for env_name, (attr, kind) in _ENV.items():
        raw = source.get(env_name)
        if raw is not None and raw.strip() != "":
            values[attr] = _parse(env_name, raw, kind)
    if str(source.get("MEDGEMMA_DTYPE", "")).strip().lower() in ("float16", "fp16", "half"):
        raise ConfigError("MEDGEMMA_DTYPE=float16 is not allowed: Gemma 3 overflows in fp16")
    _validate(values)
    if "slack_api_url" in values and not values["slack_api_url"].endswith("/"):
        values["slack_api_url"] += "/"
    return Settings(**values)
