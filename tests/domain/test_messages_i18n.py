"""plugin/domain/messages.py: every message in every language, and English where one is missing."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugin.domain import messages
from plugin.domain.messages import (
    cadence_text,
    days_text,
    messages_dir,
    moment_text,
    render,
    render_step,
)
from plugin.i18n import DEFAULT, LANGUAGES

PLACEHOLDER = re.compile(r"\$(\w+)")
NAMES = sorted(p.stem for p in (messages_dir() / DEFAULT).glob("*.md"))
TRANSLATED = [lang for lang in LANGUAGES if lang != DEFAULT]


def _raw(language: str, name: str) -> str:
    return (messages_dir() / language / f"{name}.md").read_text(encoding="utf-8")


def test_english_has_the_messages_the_code_sends():
    assert {"intro", "help", "step", "pause", "closing", "signup_link"} <= set(NAMES)


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_language_has_no_message_english_lacks(language):
    names = {p.stem for p in (messages_dir() / language).glob("*.md")}
    assert names <= set(NAMES)


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("name", NAMES)
def test_every_message_is_translated(language, name):
    assert (messages_dir() / language / f"{name}.md").is_file()


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("name", NAMES)
def test_a_translation_has_the_same_placeholders(language, name):
    translated = set(PLACEHOLDER.findall(_raw(language, name)))
    assert translated == set(PLACEHOLDER.findall(_raw(DEFAULT, name)))


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("name", NAMES)
def test_a_translation_has_a_title_where_english_has_one(language, name):
    has_title = _raw(language, name).startswith("title:")
    assert has_title == _raw(DEFAULT, name).startswith("title:")


@pytest.fixture
def english_only(tmp_path: Path, monkeypatch) -> Path:
    """A messages folder whose German lacks `greeting` (caches cleared around the test)."""
    (tmp_path / "en").mkdir()
    (tmp_path / "de").mkdir()
    (tmp_path / "en" / "greeting.md").write_text("Hello $name", encoding="utf-8")
    monkeypatch.setattr(messages, "messages_dir", lambda: tmp_path)
    messages._load.cache_clear()
    messages._warn_missing.cache_clear()
    yield tmp_path
    messages._load.cache_clear()
    messages._warn_missing.cache_clear()


def test_a_missing_translation_falls_back_to_english(english_only):
    assert render("greeting", "de", name="Maya").text == "Hello Maya"


def test_a_missing_translation_is_logged_once(english_only, caplog):
    caplog.set_level(logging.WARNING, logger="plugin.domain.messages")
    messages._load.cache_clear()
    render("greeting", "de", name="Maya")
    messages._load.cache_clear()  # a second load (another process's cache) warns no more
    render("greeting", "de", name="Sam")
    assert [r.getMessage() for r in caplog.records] == [
        "message 'greeting' has no 'de' translation: English is sent instead"
    ]


def test_a_missing_value_is_an_error_in_every_language():
    with pytest.raises(KeyError):
        render("pause", "de")


def test_a_german_message_keeps_its_title():
    assert render("report_ack", "de", program="Karriere").title == "Deine Meldung ist angekommen"


def test_a_step_is_framed_in_german():
    step = {"title": "Ziele", "discussion": ["Was willst du?"], "tip": "Klein anfangen."}
    text = render_step([step, step], 2, "de")
    assert text.startswith("**Schritt 2 von 2: Ziele**") and "Tipp: Klein anfangen." in text


@pytest.mark.parametrize(
    ("days", "english", "german"),
    [
        (7, "every week", "jede Woche"),
        (1, "every day", "jeden Tag"),
        (3, "every 3 days", "alle 3 Tage"),
        (1.5, "every 1.5 days", "alle 1,5 Tage"),
        (2 / 24, "every 2 hours", "alle 2 Stunden"),
        (30 / 86400, "every 30 seconds", "alle 30 Sekunden"),
    ],
)
def test_the_cadence_is_said_in_each_language(days, english, german):
    assert (cadence_text(days, "en"), cadence_text(days, "de")) == (english, german)


def test_admins_read_a_silence_with_a_tenth_of_a_day():
    assert (days_text(3.04, "en"), days_text(3.5, "de")) == ("3.0 days", "3,5 Tage")


def test_a_long_silence_is_in_whole_days():
    assert days_text(12.4, "de") == "12 Tage"


def test_a_moment_is_in_the_readers_language_and_zone():
    at = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    assert moment_text(at, "de", "Europe/Berlin") == "Mo., 7. Dez., 14:00 (Europe/Berlin)"


def test_an_english_moment_keeps_its_readable_form():
    at = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    assert moment_text(at, "en", "America/New_York") == "Mon 7 Dec, 08:00 (America/New_York)"


def test_a_moment_without_a_zone_is_in_utc():
    at = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    assert moment_text(at, "en", None) == "Mon 7 Dec, 13:00 (UTC)"
