"""The views and ephemeral messages the bot builds: pure, within Slack's documented limits."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from bot.prompts import Prompts
from bot.service.metrics import Metrics
from bot.settings import load_settings
from bot.slack.surfaces import feedback, home, shortcut
from bot.slack.surfaces.views import fit, pack, unpack
from tests.fakes.slack_limits import block_errors
from tests.fakes.slack_views import view_errors


def with_catalog(prompts: Prompts, language: str, catalog: dict[str, Any]) -> Prompts:
    return dataclasses.replace(prompts, catalogs={**prompts.catalogs, language: catalog})


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("up:ABCD1234", ("up", "ABCD1234")),
        ("down:ABCD1234", ("down", "ABCD1234")),
        ("meh:ABCD1234", None),
        ("up:", None),
        ("up:has spaces in it", None),
        ("", None),
    ],
)
def test_feedback_values_are_a_rating_and_a_request_id(
    value: str, parsed: tuple[str, str] | None
) -> None:
    assert feedback.parse_rating(value) == parsed


def test_private_metadata_holds_ids_only() -> None:
    packed = pack({"c": "C1", "m": "1700000000.000100", "t": ""})
    assert json.loads(packed) == {"c": "C1", "m": "1700000000.000100"}
    assert unpack({"private_metadata": packed}, "c", "m", optional=("t",)) == {
        "c": "C1",
        "m": "1700000000.000100",
        "t": "",
    }
    assert unpack({"private_metadata": packed}, "c", "t") is None
    assert unpack({"private_metadata": '{"c": "is there a mass?"}'}, "c") is None
    assert unpack({"private_metadata": "not json"}, "c") is None
    with pytest.raises(ValueError, match="ids only"):
        pack({"q": "is there a pneumothorax?"})


def test_texts_are_cut_to_fit() -> None:
    assert fit("short", 24) == "short"
    assert fit("x" * 30, 24) == "x" * 23 + "…" and len(fit("x" * 30, 24)) == 24


def settings(**env: str) -> Any:
    return load_settings({"SLACK_BOT_TOKEN": "xoxb-1", **env})


@pytest.mark.parametrize(
    ("env", "viewer", "in_progress"),
    [
        ({}, "U1", 0),
        ({"MEDGEMMA_MAX_PENDING": "2"}, "U1", 1),
        ({"MEDGEMMA_MAX_PENDING": "2"}, "U1", 2),
        (
            {
                "MEDGEMMA_ALLOWED_CHANNELS": ",".join(f"C{n:09d}" for n in range(500)),
                "MEDGEMMA_ALLOWED_USERS": "U9",
                "MEDGEMMA_ALLOW_DMS": "false",
            },
            "U1",
            0,
        ),
    ],
)
def test_the_home_view_is_valid_for_every_setting(
    prompts: Prompts, env: dict[str, str], viewer: str, in_progress: int
) -> None:
    view = home.home_view(
        prompts, settings=settings(**env), language="en", in_progress=in_progress, viewer=viewer
    )
    assert view_errors(view, kind="home") == []
    assert 11 <= len(view["blocks"]) <= 16


@pytest.mark.parametrize(
    ("in_progress", "key"),
    [(0, "state_idle"), (1, "state_busy"), (63, "state_busy"), (64, "state_full")],
)
def test_busy_line(prompts: Prompts, in_progress: int, key: str) -> None:
    line = home.busy_line(prompts, language="en", in_progress=in_progress, max_pending=64)
    assert line == prompts.text("home", key, count=in_progress)


def test_the_home_view_speaks_the_viewers_language_and_falls_back_to_english(
    prompts: Prompts,
) -> None:
    spanish = with_catalog(
        prompts,
        "es",
        {"disclaimer": "Aviso: no es un diagnóstico.", "home": {"how_title": "Cómo preguntar"}},
    )
    view = home.home_view(spanish, settings=settings(), language="es", in_progress=0, viewer="U1")
    shown = json.dumps(view, ensure_ascii=False)
    assert "Cómo preguntar" in shown and "Aviso: no es un diagnóstico." in shown
    assert json.dumps(prompts.text("home", "privacy_title"))[1:-1] in shown  # not translated yet


def test_long_translations_are_cut_to_slacks_limits(prompts: Prompts) -> None:
    long = with_catalog(
        prompts,
        "de",
        {
            "home": {"title": "T" * 400, "how": "w" * 5000},
            "feedback": {
                "reason_title": "Warum war die Antwort nicht hilfreich?",
                "tell_why": "g" * 90,
            },
            "shortcut": {"title": "MedGemma zu dieser Nachricht fragen", "placeholder": "p" * 200},
        },
    )
    view = home.home_view(long, settings=settings(), language="de", in_progress=0, viewer="U1")
    assert view_errors(view, kind="home") == []
    reason = feedback.reason_modal(long, language="de", metadata=pack({"r": "R1", "c": "C1"}))
    question = shortcut.question_modal(long, language="de", metadata=pack({"c": "C1"}))
    assert view_errors(reason, kind="modal") == view_errors(question, kind="modal") == []
    sorry = feedback.thanks(long, rating="down", request_id="R1", language="de")
    assert block_errors(sorry["blocks"]) == []


def test_a_thumbs_down_offers_say_why_with_the_request_id_only(prompts: Prompts) -> None:
    up = feedback.thanks(prompts, rating="up", request_id="R1", language="en")
    assert up == {"text": prompts.text("feedback", "thanks")}
    down = feedback.thanks(prompts, rating="down", request_id="R1", language="en")
    [button] = down["blocks"][1]["elements"]
    assert (button["action_id"], button["value"]) == ("feedback_reason", "R1")
    modal = feedback.reason_modal(prompts, language="en", metadata=pack({"r": "R1", "c": "C1"}))
    assert view_errors(modal, kind="modal") == []
    options = modal["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == list(prompts.messages["reasons"])


@pytest.mark.parametrize(
    ("message", "readable"),
    [
        ({"user": "U1", "files": [{"id": "F1", "mode": "hosted"}]}, True),
        ({"user": "U1", "files": [{"id": "F1", "file_access": "check_file_info"}]}, True),
        ({"user": "U1", "files": [{"id": "F1", "file_access": "access_denied"}]}, False),
        ({"user": "U1", "files": [{"id": "F1", "mode": "external"}]}, False),
        ({"user": "U1", "files": [{"id": "F1", "mode": "snippet"}]}, False),
        ({"user": "U1", "text": "no files"}, False),
        ({"user": "UBOT", "bot_id": "B1", "files": [{"id": "F1", "mode": "hosted"}]}, False),
    ],
)
def test_which_messages_the_shortcut_can_answer_about(
    message: dict[str, Any], readable: bool
) -> None:
    assert shortcut.readable(message) is readable


def test_reason_metrics_take_codes_only() -> None:
    metrics = Metrics()
    metrics.feedback_reason("missed_finding")
    value = metrics.registry.get_sample_value(
        "medgemma_feedback_reasons_total", {"reason": "missed_finding"}
    )
    assert value == 1
    with pytest.raises(ValueError, match="short code"):
        metrics.feedback_reason("The patient is my neighbour")
