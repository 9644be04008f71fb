"""plugin/i18n.py: which language a code, a member or a browser gets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.i18n import LANGUAGES, for_member, from_accept_language, language_of


@pytest.mark.parametrize("code", ["de", "de_CH", "de-AT", "DE", "de_DE"])
def test_a_regional_code_counts_as_its_language(code):
    assert language_of(code) == "de"


@pytest.mark.parametrize("code", ["fr", "pt_BR", "xx", "", None, "e", "de_"])
def test_a_code_of_no_supported_language_names_none(code):
    assert language_of(code) is None


@given(st.text(max_size=60))
def test_any_text_gives_a_supported_language_or_none(code):
    assert language_of(code) in (*LANGUAGES, None)


def test_a_member_reads_their_accounts_language_over_the_programs():
    assert for_member("de_CH", "en") == "de"


def test_a_member_whose_account_names_no_supported_language_reads_the_programs():
    assert for_member("fr", "de") == "de"


def test_a_browser_asking_for_swiss_german_first_gets_german():
    assert from_accept_language([("en", 0.5), ("de-CH", 1.0)]) == "de"


def test_a_browser_asking_for_no_supported_language_gets_english():
    assert from_accept_language([("fr", 1.0), ("*", 0.1)]) == "en"
