"""One frozen settings object, read once from the environment (and a `.env` file).

Each setting is declared once, as a field below: its type (a `Literal` lists the
choices), its environment variable, its default and its lower bound. The README's
configuration table lists every one of them (a test holds the two together). A missing
or malformed value raises ConfigError with one line that says what to set, before the
bot connects to anything.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.errors import ConfigError
from bot.specialty import SPECIALTIES, Specialty

# The texts ship inside the package (the wheel carries them); MEDGEMMA_PROMPTS_DIR overrides.
DEFAULT_PROMPTS = Path(__file__).resolve().parent / "prompts"

BackendName = Literal["transformers", "openai"]
Device = Literal["auto", "cuda", "cpu"]
DType = Literal["auto", "bfloat16", "float32"]
Quantize = Literal["none", "4bit"]
CompileMode = Literal["auto", "on", "off"]
EngineKind = Literal["scheduler", "generate"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["json", "text"]
PromptProfile = Literal["auto", "bot", "google"]
Language = Literal["auto", "en", "zh-CN", "es", "fr", "de", "ja", "pt-BR"]
SlackView = Literal["agent", "assistant"]  # the manifest's agent_view, or the legacy assistant_view

Parser = Callable[[str, str], Any]  # (variable name, raw text) -> value


def setting(
    env: str,
    default: Any = dataclasses.MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    minimum: float | None = None,
    parse: Parser | None = None,
) -> Any:
    """A settings field read from `env`; `parse` replaces the parsing its type implies."""
    metadata = {"env": env, "minimum": minimum, "parse": parse}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _upper(env: str, raw: str) -> str:
    return raw.upper()


def _api_url(env: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{env} must be an http(s) URL such as https://slack.com/api/")
    return raw if raw.endswith("/") else raw + "/"


def _redis_url(env: str, raw: str) -> str:
    if urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{env} must be a redis://, rediss:// or unix:// URL")
    return raw


def _dtype(env: str, raw: str) -> str:
    if raw.lower() in ("float16", "fp16", "half"):
        raise ConfigError(f"{env}=float16 is not allowed: Gemma 3 overflows in fp16")
    return raw


def _ids(env: str, raw: str) -> frozenset[str]:
    """Comma-separated Slack ids (channels C/G/D..., users U/W...)."""
    ids = frozenset(part.strip() for part in raw.split(",") if part.strip())
    if any(not item.isalnum() or not item.isupper() for item in ids):
        raise ConfigError(f"{env} takes Slack ids separated by commas, e.g. C0123,C0456")
    return ids


def _app_name(env: str, raw: str) -> str:
    name = raw.strip()
    if not 1 <= len(name) <= 35:  # Slack's limit on an app's name
        raise ConfigError(f"{env} must be the Slack app's name, 1 to 35 characters")
    return name


def _channel_specialties(env: str, raw: str) -> dict[str, Specialty]:
    mapping: dict[str, Specialty] = {}
    for item in filter(None, (i.strip() for i in raw.split(","))):
        channel, _, specialty = (part.strip() for part in item.partition("="))
        if not channel or specialty not in SPECIALTIES:
            raise ConfigError(
                f"{env} takes CHANNEL_ID=specialty pairs separated by commas, specialty "
                f"one of {', '.join(SPECIALTIES)}"
            )
        mapping[channel] = Specialty(specialty)
    return mapping


@dataclass(frozen=True)
class Settings:
    """Everything configurable, validated."""

    # Slack
    slack_bot_token: str = setting("SLACK_BOT_TOKEN", "")
    slack_app_token: str = setting("SLACK_APP_TOKEN", "")
    slack_signing_secret: str = setting("SLACK_SIGNING_SECRET", "")
    slack_api_url: str = setting("SLACK_API_URL", "https://slack.com/api/", parse=_api_url)
    slack_api_timeout_s: float = setting("SLACK_API_TIMEOUT_S", 30.0, minimum=1)
    socket_ping_s: float = setting("SLACK_SOCKET_PING_S", 10.0, minimum=0.1)
    download_timeout_s: float = setting("SLACK_DOWNLOAD_TIMEOUT_S", 60.0, minimum=1)
    # 200: a zipped 300-slice CT series (about 160 MB) fits (bench/ct_zip_real_size.py).
    max_file_mb: float = setting("MEDGEMMA_MAX_FILE_MB", 200.0, minimum=0.001)
    # Model and backend
    backend: BackendName = setting("MEDGEMMA_BACKEND", "transformers")
    model: str = setting("MEDGEMMA_MODEL", "google/medgemma-1.5-4b-it")
    revision: str = setting("MEDGEMMA_REVISION", "")
    base_url: str = setting("MEDGEMMA_BASE_URL", "")
    api_key: str = setting("MEDGEMMA_API_KEY", "")
    server_timeout_s: float = setting("MEDGEMMA_SERVER_TIMEOUT_S", 120.0, minimum=1)
    server_context_tokens: int = setting("MEDGEMMA_SERVER_CONTEXT_TOKENS", 32768, minimum=512)
    server_max_images: int = setting("MEDGEMMA_SERVER_MAX_IMAGES", 128, minimum=1)
    hf_token: str = setting("HF_TOKEN", "")
    # The Hub's own switch, declared so that a .env file sets it too: load from the cache only.
    hf_offline: bool = setting("HF_HUB_OFFLINE", False)
    device: Device = setting("MEDGEMMA_DEVICE", "auto")
    dtype: DType = setting("MEDGEMMA_DTYPE", "auto", parse=_dtype)
    multi_gpu: bool = setting("MEDGEMMA_MULTI_GPU", False)
    quantize: Quantize = setting("MEDGEMMA_QUANTIZE", "none")
    compile: CompileMode = setting("MEDGEMMA_COMPILE", "auto")
    # scheduler until a GPU shows it beats generate() by 1.5x (docs/performance.md)
    engine: EngineKind = setting("MEDGEMMA_ENGINE", "scheduler")
    max_batch: int = setting("MEDGEMMA_MAX_BATCH", 32, minimum=1)
    slot_tokens: int = setting("MEDGEMMA_SLOT_TOKENS", 4096, minimum=256)
    # 4096: the 32 x 4096 slot cache, the model and the largest prefill within 16 GiB.
    prefill_tokens: int = setting("MEDGEMMA_PREFILL_TOKENS", 4096, minimum=256)
    prepare_workers: int = setting("MEDGEMMA_PREPARE_WORKERS", 4, minimum=1)
    max_waiting: int = setting("MEDGEMMA_MAX_WAITING", 64, minimum=1)
    timeout_s: float = setting("MEDGEMMA_TIMEOUT_S", 300.0, minimum=1)
    max_new_tokens: int = setting("MEDGEMMA_MAX_NEW_TOKENS", 1024, minimum=1)
    # Conversation and images
    context_tokens: int = setting("MEDGEMMA_CONTEXT_TOKENS", 8192, minimum=512)
    max_images: int = setting("MEDGEMMA_MAX_IMAGES", 8, minimum=1)
    max_slices: int = setting("MEDGEMMA_MAX_SLICES", 85, minimum=1)
    max_pixels: int = setting("MEDGEMMA_MAX_PIXELS", 100_000_000, minimum=1_000_000)
    pad_to_square: bool = setting("MEDGEMMA_PAD_TO_SQUARE", True)
    pathology_tiles: int = setting("MEDGEMMA_PATHOLOGY_TILES", 1, minimum=1)
    pathology_patches: int = setting("MEDGEMMA_PATHOLOGY_PATCHES", 125, minimum=0)
    pdf_max_pages: int = setting("MEDGEMMA_PDF_MAX_PAGES", 8, minimum=1)
    specialty: Specialty = setting("MEDGEMMA_SPECIALTY", Specialty.RADIOLOGIST)
    prompt_profile: PromptProfile = setting("MEDGEMMA_PROMPT_PROFILE", "auto")
    channel_specialties: Mapping[str, Specialty] = setting(
        "MEDGEMMA_CHANNEL_SPECIALTIES", factory=dict, parse=_channel_specialties
    )
    prompts_dir: Path = setting("MEDGEMMA_PROMPTS_DIR", DEFAULT_PROMPTS)
    image_cache_mb: int = setting("MEDGEMMA_IMAGE_CACHE_MB", 512, minimum=0)
    image_cache_ttl_s: float = setting("MEDGEMMA_IMAGE_CACHE_TTL_S", 3600.0, minimum=0)
    decode_workers: int = setting("MEDGEMMA_DECODE_WORKERS", 2, minimum=1)
    decode_timeout_s: float = setting("MEDGEMMA_DECODE_TIMEOUT_S", 20.0, minimum=1)
    decode_memory_mb: int = setting("MEDGEMMA_DECODE_MEMORY_MB", 1536, minimum=512)
    # Front
    max_pending: int = setting("MEDGEMMA_MAX_PENDING", 64, minimum=1)
    max_per_person: int = setting("MEDGEMMA_MAX_PER_PERSON", 16, minimum=1)
    max_per_channel: int = setting("MEDGEMMA_MAX_PER_CHANNEL", 200, minimum=1)
    busy_wait_s: float = setting("MEDGEMMA_BUSY_WAIT_S", 120.0, minimum=0)
    streaming: bool = setting("MEDGEMMA_STREAMING", True)
    language: Language = setting("MEDGEMMA_LANGUAGE", "auto")
    allowed_channels: frozenset[str] = setting(
        "MEDGEMMA_ALLOWED_CHANNELS", factory=frozenset, parse=_ids
    )
    allowed_users: frozenset[str] = setting("MEDGEMMA_ALLOWED_USERS", factory=frozenset, parse=_ids)
    allow_dms: bool = setting("MEDGEMMA_ALLOW_DMS", True)
    admin_contact: str = setting("MEDGEMMA_ADMIN_CONTACT", "")
    app_name: str = setting("MEDGEMMA_APP_NAME", "MedGemma", parse=_app_name)
    slack_view: SlackView = setting("MEDGEMMA_SLACK_VIEW", "agent")
    contact_sheet: bool = setting("MEDGEMMA_CONTACT_SHEET", True)
    dm_wait_s: float = setting("MEDGEMMA_DM_WAIT_S", 6.0, minimum=0)
    dm_case_minutes: float = setting("MEDGEMMA_DM_CASE_MINUTES", 10.0, minimum=0)
    state_file: str = setting("MEDGEMMA_STATE_FILE", "medgemma-state.json")
    drain_s: float = setting("MEDGEMMA_DRAIN_S", 60.0, minimum=0)
    # Running as a service
    redis_url: str = setting("MEDGEMMA_REDIS_URL", "", parse=_redis_url)
    replica_timeout_s: float = setting("MEDGEMMA_REPLICA_TIMEOUT_S", 30.0, minimum=1)
    # Probes and metrics listen only when asked for: Socket Mode needs no inbound port.
    health_port: int = setting("MEDGEMMA_HEALTH_PORT", 0, minimum=0)
    health_host: str = setting("MEDGEMMA_HEALTH_HOST", "127.0.0.1")
    log_level: LogLevel = setting("LOG_LEVEL", "INFO", parse=_upper)
    log_format: LogFormat = setting("LOG_FORMAT", "json")

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


@dataclass(frozen=True)
class Declared:
    """One field of Settings as declared: where it is read from and how."""

    name: str
    env: str
    kind: Any  # the resolved annotation
    default: Any
    minimum: float | None
    parse: Parser | None


def declared() -> list[Declared]:
    """Every setting, in declaration order."""
    hints = typing.get_type_hints(Settings)
    result = []
    for f in dataclasses.fields(Settings):
        factory = f.default_factory
        default = factory() if callable(factory) else f.default
        meta = f.metadata
        result.append(
            Declared(f.name, meta["env"], hints[f.name], default, meta["minimum"], meta["parse"])
        )
    return result


def _choices(kind: Any) -> tuple[str, ...] | None:
    if typing.get_origin(kind) is Literal:
        return tuple(str(c) for c in typing.get_args(kind))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return tuple(str(m.value) for m in kind)
    return None


def _convert(item: Declared, text: str) -> Any:
    """The typed value of one variable's text (already stripped, not blank)."""
    if item.parse is not None:
        text = item.parse(item.env, text)
        if not isinstance(text, str):
            return text
    choices = _choices(item.kind)
    if choices is not None:
        if text not in choices:
            raise ConfigError(f"{item.env} must be one of {', '.join(choices)}")
        return item.kind(text) if isinstance(item.kind, type) else text
    if item.kind is bool:
        return _boolean(item.env, text)
    if item.kind is Path:
        return Path(text).expanduser()
    if item.kind in (int, float):
        return _number(item, text)
    return text


def _boolean(env: str, text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{env} must be true or false, not {text!r}")


def _number(item: Declared, text: str) -> float:
    try:
        number = item.kind(text)
    except ValueError:
        raise ConfigError(f"{item.env} must be a number, not {text!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{item.env} must be a finite number, not {text!r}")
    if item.minimum is not None and number < item.minimum:
        raise ConfigError(f"{item.env} must be at least {item.minimum:g}")
    return typing.cast(float, number)


def _environment(dotenv: Path | None) -> dict[str, str]:
    """The process environment over the `.env` file's values."""
    from dotenv import dotenv_values

    source: dict[str, str] = {}
    path = dotenv or Path(".env")
    if path.is_file():
        source.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    source.update(os.environ)  # the real environment wins over the file
    return source


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> Settings:
    """Build Settings from `environ` (default: the process environment plus `.env`)."""
    source = _environment(dotenv) if environ is None else dict(environ)
    values: dict[str, Any] = {}
    for item in declared():
        raw = source.get(item.env, "").strip()
        if raw:
            values[item.name] = _convert(item, raw)
    settings = Settings(**values)
    if settings.backend == "openai" and not settings.base_url:
        raise ConfigError(
            "Set MEDGEMMA_BASE_URL (e.g. http://vllm:8000/v1) for MEDGEMMA_BACKEND=openai"
        )
    return settings
