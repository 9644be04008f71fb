"""Dates, numbers and stored words in the page's language (plugin/web/lang.py, words.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from plugin.web import lang
from plugin.web.words import word

WHEN = datetime(2026, 3, 9, 14, 5)  # stored naive, in UTC


@pytest.fixture
def bare() -> Flask:
    return Flask(__name__)


def test_a_date_is_written_the_german_way_in_utc(bare):
    with bare.test_request_context(headers={"Accept-Language": "de"}):
        assert lang.when(WHEN) == "09.03.26, 14:05 UTC"


def test_a_date_is_written_the_english_way_without_accept_language(bare):
    with bare.test_request_context():
        assert lang.when(WHEN) == "3/9/26, 2:05\u202fPM UTC"


def test_a_date_is_shown_in_the_given_time_zone(bare):
    with bare.test_request_context():
        lang.use("de")
        assert lang.when(WHEN.replace(tzinfo=UTC), "Europe/Berlin") == (
            "09.03.26, 15:05 Europe/Berlin"
        )


def test_the_chosen_language_wins_over_the_browser(bare):
    with bare.test_request_context(headers={"Accept-Language": "en"}):
        lang.use("de")
        assert lang.current() == "de" and lang.decimal(4.5) == "4,5"


def test_an_unsupported_language_falls_back_to_english(bare):
    with bare.test_request_context(headers={"Accept-Language": "de"}):
        lang.use("fr")
        assert lang.current() == "en"


def test_a_plural_is_chosen_by_the_number(bare):
    with bare.test_request_context(headers={"Accept-Language": "de"}):
        one = lang.ngettext("%(num)d pair created.", "%(num)d pairs created.", 1)
        three = lang.ngettext("%(num)d pair created.", "%(num)d pairs created.", 3)
    assert (one, three) == ("1 Paar gebildet.", "3 Paare gebildet.")


def test_a_stored_state_is_shown_in_the_page_language(bare):
    with bare.test_request_context(headers={"Accept-Language": "de"}):
        assert word("needs a check-in") == "Nachfrage nötig" and word("paused") == "pausiert"


def test_a_stored_value_without_an_entry_shows_as_stored(bare):
    with bare.test_request_context(headers={"Accept-Language": "de"}):
        assert word("left the forum") == "left the forum"
