"""Tests for bot.settings: parsing and validating the environment (always a dict here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.errors import ConfigError
from bot.settings import DEFAULT_PROMPTS, Settings, load_settings
from bot.specialty import Specialty


def test_empty_environment_gives_the_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.backend == "transformers"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.prompts_dir == DEFAULT_PROMPTS
    assert settings.channel_specialties == {}


def test_blank_values_mean_the_default() -> None:
    assert load_settings({"MEDGEMMA_MAX_IMAGES": "  ", "MEDGEMMA_BACKEND": ""}) == Settings()


def test_unrelated_variables_are_ignored() -> None:
    assert load_settings({"PATH": "/bin", "HOME": "/root"}) == Settings()


# (variable, raw value, attribute, expected value)
PARSED: list[tuple[str, str, str, Any]] = [
    ("SLACK_BOT_TOKEN", " xoxb-1 ", "slack_bot_token", "xoxb-1"),
    ("SLACK_APP_TOKEN", "xapp-1", "slack_app_token", "xapp-1"),
    ("SLACK_SIGNING_SECRET", "s3cret", "slack_signing_secret", "s3cret"),
    ("SLACK_API_URL", "http://127.0.0.1:8080/api/", "slack_api_url", "http://127.0.0.1:8080/api/"),
    ("SLACK_API_TIMEOUT_S", "12.5", "slack_api_timeout_s", 12.5),
    ("SLACK_SOCKET_PING_S", "2", "socket_ping_s", 2.0),
    ("SLACK_DOWNLOAD_TIMEOUT_S", "90", "download_timeout_s", 90.0),
    ("MEDGEMMA_MAX_FILE_MB", "0.5", "max_file_mb", 0.5),
    ("MEDGEMMA_BACKEND", "transformers", "backend", "transformers"),
    ("MEDGEMMA_MODEL", "google/medgemma-27b-it", "model", "google/medgemma-27b-it"),
    ("MEDGEMMA_REVISION", "abc123", "revision", "abc123"),
    ("MEDGEMMA_API_KEY", "k", "api_key", "k"),
    ("HF_TOKEN", "hf_x", "hf_token", "hf_x"),
    ("HF_HUB_OFFLINE", "1", "hf_offline", True),
    ("MEDGEMMA_DEVICE", "cpu", "device", "cpu"),
    ("MEDGEMMA_DTYPE", "bfloat16", "dtype", "bfloat16"),
    ("MEDGEMMA_DTYPE", "float32", "dtype", "float32"),
    ("MEDGEMMA_MULTI_GPU", "true", "multi_gpu", True),
    ("MEDGEMMA_MULTI_GPU", "YES", "multi_gpu", True),
    ("MEDGEMMA_MULTI_GPU", "1", "multi_gpu", True),
    ("MEDGEMMA_MULTI_GPU", "on", "multi_gpu", True),
    ("MEDGEMMA_PAD_TO_SQUARE", "false", "pad_to_square", False),
    ("MEDGEMMA_PAD_TO_SQUARE", "No", "pad_to_square", False),
    ("MEDGEMMA_PAD_TO_SQUARE", "0", "pad_to_square", False),
    ("MEDGEMMA_PAD_TO_SQUARE", "off", "pad_to_square", False),
    ("MEDGEMMA_QUANTIZE", "4bit", "quantize", "4bit"),
    ("MEDGEMMA_COMPILE", "off", "compile", "off"),
    ("MEDGEMMA_ENGINE", "generate", "engine", "generate"),
    ("MEDGEMMA_MAX_BATCH", "4", "max_batch", 4),
    ("MEDGEMMA_SLOT_TOKENS", "8192", "slot_tokens", 8192),
    ("MEDGEMMA_PREFILL_TOKENS", "8192", "prefill_tokens", 8192),
    ("MEDGEMMA_PREPARE_WORKERS", "2", "prepare_workers", 2),
    ("MEDGEMMA_MAX_WAITING", "3", "max_waiting", 3),
    ("MEDGEMMA_TIMEOUT_S", "45", "timeout_s", 45.0),
    ("MEDGEMMA_MAX_NEW_TOKENS", " 512 ", "max_new_tokens", 512),
    ("MEDGEMMA_CONTEXT_TOKENS", "16384", "context_tokens", 16384),
    ("MEDGEMMA_MAX_IMAGES", "2", "max_images", 2),
    ("MEDGEMMA_MAX_SLICES", "40", "max_slices", 40),
    ("MEDGEMMA_MAX_PIXELS", "2000000", "max_pixels", 2_000_000),
    ("MEDGEMMA_PATHOLOGY_TILES", "4", "pathology_tiles", 4),
    ("MEDGEMMA_PATHOLOGY_PATCHES", "40", "pathology_patches", 40),
    ("MEDGEMMA_PDF_MAX_PAGES", "3", "pdf_max_pages", 3),
    ("MEDGEMMA_SPECIALTY", "pathologist", "specialty", Specialty.PATHOLOGIST),
    ("MEDGEMMA_PROMPT_PROFILE", "google", "prompt_profile", "google"),
    ("MEDGEMMA_SERVER_TIMEOUT_S", "15", "server_timeout_s", 15.0),
    ("MEDGEMMA_SERVER_CONTEXT_TOKENS", "40960", "server_context_tokens", 40960),
    ("MEDGEMMA_SERVER_MAX_IMAGES", "90", "server_max_images", 90),
    ("MEDGEMMA_PROMPTS_DIR", "/etc/medgemma/prompts", "prompts_dir", Path("/etc/medgemma/prompts")),
    ("MEDGEMMA_IMAGE_CACHE_MB", "0", "image_cache_mb", 0),
    ("MEDGEMMA_IMAGE_CACHE_TTL_S", "600", "image_cache_ttl_s", 600.0),
    ("MEDGEMMA_DECODE_WORKERS", "4", "decode_workers", 4),
    ("MEDGEMMA_DECODE_TIMEOUT_S", "45", "decode_timeout_s", 45.0),
    ("MEDGEMMA_DECODE_MEMORY_MB", "4096", "decode_memory_mb", 4096),
    ("MEDGEMMA_MAX_PENDING", "10", "max_pending", 10),
    ("MEDGEMMA_MAX_PER_PERSON", "3", "max_per_person", 3),
    ("MEDGEMMA_MAX_PER_CHANNEL", "40", "max_per_channel", 40),
    ("MEDGEMMA_BUSY_WAIT_S", "0", "busy_wait_s", 0.0),
    ("MEDGEMMA_STREAMING", "false", "streaming", False),
    ("MEDGEMMA_DM_WAIT_S", "2.5", "dm_wait_s", 2.5),
    ("MEDGEMMA_LANGUAGE", "zh-CN", "language", "zh-CN"),
    ("MEDGEMMA_ALLOWED_CHANNELS", "C1, G2,", "allowed_channels", frozenset({"C1", "G2"})),
    ("MEDGEMMA_ALLOWED_USERS", "U1,W2", "allowed_users", frozenset({"U1", "W2"})),
    ("MEDGEMMA_ALLOW_DMS", "false", "allow_dms", False),
    ("MEDGEMMA_ADMIN_CONTACT", "<@U9>", "admin_contact", "<@U9>"),
    ("MEDGEMMA_CONTACT_SHEET", "off", "contact_sheet", False),
    ("MEDGEMMA_DM_CASE_MINUTES", "30", "dm_case_minutes", 30.0),
    (
        "MEDGEMMA_STATE_FILE",
        "/var/lib/medgemma/state.json",
        "state_file",
        "/var/lib/medgemma/state.json",
    ),
    ("MEDGEMMA_DRAIN_S", "5", "drain_s", 5.0),
    ("MEDGEMMA_REDIS_URL", "redis://redis:6379/0", "redis_url", "redis://redis:6379/0"),
    ("MEDGEMMA_REDIS_URL", "unix:///run/redis.sock", "redis_url", "unix:///run/redis.sock"),
    ("MEDGEMMA_REPLICA_TIMEOUT_S", "10", "replica_timeout_s", 10.0),
    ("MEDGEMMA_HEALTH_PORT", "0", "health_port", 0),
    ("MEDGEMMA_HEALTH_PORT", "9090", "health_port", 9090),
    ("MEDGEMMA_HEALTH_HOST", "0.0.0.0", "health_host", "0.0.0.0"),
    ("LOG_LEVEL", "debug", "log_level", "DEBUG"),
    ("LOG_FORMAT", "text", "log_format", "text"),
    ("MEDGEMMA_CHANNEL_SPECIALTIES", "", "channel_specialties", {}),
    ("MEDGEMMA_APP_NAME", " Radiology Teaching Bot ", "app_name", "Radiology Teaching Bot"),
    ("MEDGEMMA_SLACK_VIEW", "assistant", "slack_view", "assistant"),
    (
        "MEDGEMMA_CHANNEL_SPECIALTIES",
        "C1=dermatologist,C2=pathologist",
        "channel_specialties",
        {"C1": Specialty.DERMATOLOGIST, "C2": Specialty.PATHOLOGIST},
    ),
    (
        "MEDGEMMA_CHANNEL_SPECIALTIES",
        " C1 = ophthalmologist , ,C2=radiologist, ",
        "channel_specialties",
        {"C1": Specialty.OPHTHALMOLOGIST, "C2": Specialty.RADIOLOGIST},
    ),
]


@pytest.mark.parametrize(
    ("variable", "raw", "attribute", "expected"),
    PARSED,
    ids=[f"{c[0]}={c[1]!r}" for c in PARSED],
)
def test_each_variable_is_parsed(variable: str, raw: str, attribute: str, expected: Any) -> None:
    settings = load_settings({variable: raw})
    value = getattr(settings, attribute)
    assert value == expected
    assert type(value) is type(expected)


def test_every_field_has_a_parsed_case() -> None:
    """A new setting without a row above fails here."""
    covered = {c[2] for c in PARSED} | {"base_url"}  # base_url: see the openai tests
    assert covered == set(Settings.__dataclass_fields__)


def test_prompts_dir_expands_the_home_directory() -> None:
    settings = load_settings({"MEDGEMMA_PROMPTS_DIR": "~/prompts"})
    assert settings.prompts_dir == Path.home() / "prompts"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://127.0.0.1:8080/api", "http://127.0.0.1:8080/api/"),
        ("https://slack.example/api/", "https://slack.example/api/"),
        ("http://localhost:9", "http://localhost:9/"),
    ],
)
def test_slack_api_url_ends_with_a_slash(raw: str, expected: str) -> None:
    assert load_settings({"SLACK_API_URL": raw}).slack_api_url == expected


def test_openai_backend_with_a_base_url() -> None:
    settings = load_settings(
        {"MEDGEMMA_BACKEND": "openai", "MEDGEMMA_BASE_URL": "http://127.0.0.1:8000/v1"}
    )
    assert (settings.backend, settings.base_url) == ("openai", "http://127.0.0.1:8000/v1")


def test_max_file_bytes() -> None:
    assert load_settings({"MEDGEMMA_MAX_FILE_MB": "2"}).max_file_bytes == 2 * 1024 * 1024


# (case id, environment, words the message must contain)
BAD: list[tuple[str, dict[str, str], list[str]]] = [
    ("bool", {"MEDGEMMA_MULTI_GPU": "maybe"}, ["MEDGEMMA_MULTI_GPU"]),
    ("int given a float", {"MEDGEMMA_MAX_IMAGES": "2.5"}, ["MEDGEMMA_MAX_IMAGES"]),
    ("int given text", {"MEDGEMMA_MAX_BATCH": "many"}, ["MEDGEMMA_MAX_BATCH"]),
    ("float given text", {"MEDGEMMA_TIMEOUT_S": "5m"}, ["MEDGEMMA_TIMEOUT_S"]),
    ("below minimum", {"MEDGEMMA_CONTEXT_TOKENS": "100"}, ["MEDGEMMA_CONTEXT_TOKENS", "512"]),
    ("zero images", {"MEDGEMMA_MAX_IMAGES": "0"}, ["MEDGEMMA_MAX_IMAGES"]),
    ("negative cache", {"MEDGEMMA_IMAGE_CACHE_MB": "-1"}, ["MEDGEMMA_IMAGE_CACHE_MB"]),
    ("tiny timeout", {"SLACK_API_TIMEOUT_S": "0.5"}, ["SLACK_API_TIMEOUT_S"]),
    ("backend", {"MEDGEMMA_BACKEND": "llama"}, ["MEDGEMMA_BACKEND", "openai"]),
    ("device", {"MEDGEMMA_DEVICE": "tpu"}, ["MEDGEMMA_DEVICE"]),
    ("dtype", {"MEDGEMMA_DTYPE": "int8"}, ["MEDGEMMA_DTYPE"]),
    ("quantize", {"MEDGEMMA_QUANTIZE": "8bit"}, ["MEDGEMMA_QUANTIZE"]),
    ("compile", {"MEDGEMMA_COMPILE": "yes"}, ["MEDGEMMA_COMPILE"]),
    ("engine", {"MEDGEMMA_ENGINE": "vllm"}, ["MEDGEMMA_ENGINE"]),
    ("specialty", {"MEDGEMMA_SPECIALTY": "surgeon"}, ["MEDGEMMA_SPECIALTY"]),
    ("log level", {"LOG_LEVEL": "verbose"}, ["LOG_LEVEL"]),
    ("log format", {"LOG_FORMAT": "xml"}, ["LOG_FORMAT"]),
    ("language", {"MEDGEMMA_LANGUAGE": "klingon"}, ["MEDGEMMA_LANGUAGE", "pt-BR"]),
    ("channel ids", {"MEDGEMMA_ALLOWED_CHANNELS": "#general"}, ["MEDGEMMA_ALLOWED_CHANNELS"]),
    ("channel map: no =", {"MEDGEMMA_CHANNEL_SPECIALTIES": "C1"}, ["MEDGEMMA_CHANNEL_SPECIALTIES"]),
    (
        "channel map: unknown specialty",
        {"MEDGEMMA_CHANNEL_SPECIALTIES": "C1=dermatologist,C2=surgeon"},
        ["MEDGEMMA_CHANNEL_SPECIALTIES", "pathologist"],
    ),
    (
        "channel map: no channel",
        {"MEDGEMMA_CHANNEL_SPECIALTIES": "=pathologist"},
        ["MEDGEMMA_CHANNEL_SPECIALTIES"],
    ),
    ("app name too long", {"MEDGEMMA_APP_NAME": "R" * 36}, ["MEDGEMMA_APP_NAME", "35"]),
    ("slack view", {"MEDGEMMA_SLACK_VIEW": "sidebar"}, ["MEDGEMMA_SLACK_VIEW"]),
    ("api url scheme", {"SLACK_API_URL": "ftp://slack.com/api/"}, ["SLACK_API_URL"]),
    ("api url not a url", {"SLACK_API_URL": "slack.com/api"}, ["SLACK_API_URL"]),
    ("float16", {"MEDGEMMA_DTYPE": "float16"}, ["MEDGEMMA_DTYPE", "fp16"]),
    ("fp16", {"MEDGEMMA_DTYPE": "fp16"}, ["MEDGEMMA_DTYPE", "fp16"]),
    ("half", {"MEDGEMMA_DTYPE": "HALF"}, ["MEDGEMMA_DTYPE", "fp16"]),
    ("redis url scheme", {"MEDGEMMA_REDIS_URL": "localhost:6379"}, ["MEDGEMMA_REDIS_URL"]),
    ("negative port", {"MEDGEMMA_HEALTH_PORT": "-1"}, ["MEDGEMMA_HEALTH_PORT"]),
    ("openai without a url", {"MEDGEMMA_BACKEND": "openai"}, ["MEDGEMMA_BASE_URL"]),
    (
        "openai with a blank url",
        {"MEDGEMMA_BACKEND": "openai", "MEDGEMMA_BASE_URL": "  "},
        ["MEDGEMMA_BASE_URL"],
    ),
]


@pytest.mark.parametrize(("name", "environ", "needles"), BAD, ids=[c[0] for c in BAD])
def test_bad_values_name_the_variable(
    name: str, environ: dict[str, str], needles: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ)
    message = str(info.value)
    for needle in needles:
        assert needle in message
    assert "\n" not in message


# (case id, environment, http, words the message must contain or None: accepted)
SLACK: list[tuple[str, dict[str, str], bool, list[str] | None]] = [
    ("socket mode ok", {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, False, None),
    ("http ok", {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, True, None),
    ("no bot token", {"SLACK_APP_TOKEN": "xapp-1"}, False, ["SLACK_BOT_TOKEN", "xoxb-"]),
    ("no bot token, http", {"SLACK_SIGNING_SECRET": "s"}, True, ["SLACK_BOT_TOKEN"]),
    (
        "user token as bot token",
        {"SLACK_BOT_TOKEN": "xoxp-1", "SLACK_APP_TOKEN": "xapp-1"},
        False,
        ["SLACK_BOT_TOKEN", "xoxb-"],
    ),
    ("no app token", {"SLACK_BOT_TOKEN": "xoxb-1"}, False, ["SLACK_APP_TOKEN", "--http"]),
    (
        "bot token as app token",
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"},
        False,
        ["SLACK_APP_TOKEN", "xapp-"],
    ),
    ("http without a secret", {"SLACK_BOT_TOKEN": "xoxb-1"}, True, ["SLACK_SIGNING_SECRET"]),
    (
        "http needs no app token",
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": "bad"},
        True,
        None,
    ),
]


@pytest.mark.parametrize(("name", "environ", "http", "needles"), SLACK, ids=[c[0] for c in SLACK])
def test_require_slack(
    name: str, environ: dict[str, str], http: bool, needles: list[str] | None
) -> None:
    settings = load_settings(environ)
    if needles is None:
        settings.require_slack(http=http)
        return
    with pytest.raises(ConfigError) as info:
        settings.require_slack(http=http)
    for needle in needles:
        assert needle in str(info.value)


def _readme_table() -> dict[str, str]:
    """The README's configuration table: variable -> default cell."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1].strip("`")
    return rows


def _shown(default: Any) -> str | None:
    """How the README writes a default, for the kinds it can be checked for."""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, int | float):
        return f"{default:g}" if isinstance(default, float) else str(default)
    if isinstance(default, str) and default:
        return default
    return None


def test_the_readme_table_lists_every_setting_with_its_default() -> None:
    from bot.settings import declared

    table = _readme_table()
    assert set(table) == {item.env for item in declared()}
    for item in declared():
        expected = _shown(item.default)
        if expected is not None and not isinstance(item.default, Path):
            assert table[item.env] == expected, item.env
