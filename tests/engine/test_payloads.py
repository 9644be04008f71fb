"""plugin/engine/payloads.py: the command words and their German aliases."""

from __future__ import annotations

import pytest

from plugin.engine.payloads import ALIASES, COMMAND_WORDS, canonical, command_text, command_word


@pytest.mark.parametrize(
    ("alias", "word"),
    [("erledigt", "done"), ("ende", "end"), ("melden", "report"), ("blockieren", "block")],
)
def test_a_german_alias_names_its_command(alias, word):
    assert canonical(alias) == word


def test_every_alias_names_a_command_word():
    assert set(ALIASES.values()) <= COMMAND_WORDS


def test_no_alias_hides_a_command_word():
    assert not set(ALIASES) & COMMAND_WORDS


def test_an_alias_is_read_whatever_its_case():
    assert canonical("ERLEDIGT") == "done"


def test_a_word_that_is_neither_command_nor_alias_names_nothing():
    assert canonical("erledigen") == ""


def test_a_post_starting_with_an_alias_is_kept():
    assert command_text("!erledigt, endlich") == "!erledigt, endlich"


def test_a_bare_alias_is_kept_where_bare_words_are_allowed():
    assert command_text("hilfe", bare_allowed=True) == "hilfe"


def test_a_bare_alias_in_conversation_is_not_kept():
    assert command_text("ende gut, alles gut") is None


def test_a_kept_aliases_command_word_is_the_command_it_names():
    assert command_word("!melden er fragt nach Geld") == "report"
