"""How each forum names members and describes its private threads in our messages."""

import pytest

from plugin.forums.registry import KINDS, PRIVACY, mention, privacy, spaces
from plugin.i18n import LANGUAGES
from plugin.storage.states import Space


def test_discourse_mentions_by_username():
    assert mention("discourse", "maya", "Maya Lee", 42) == "@maya"


def test_zulip_mentions_by_name_and_id():
    assert mention("zulip", "maya@example.com", "Maya Lee", 42) == "@**Maya Lee|42**"


def test_zulip_threads_are_not_said_to_be_readable_by_admins():
    assert "admins can read" not in PRIVACY["zulip"]["en"]
    assert "admins can read private messages" in PRIVACY["discourse"]["en"]


def test_zulip_threads_are_not_said_to_be_readable_by_admins_in_german_either():
    assert "Admins" not in PRIVACY["zulip"]["de"]
    assert "Admins des Forums können private Nachrichten lesen" in PRIVACY["discourse"]["de"]


@pytest.mark.parametrize("kind", sorted(PRIVACY))
def test_every_forum_describes_its_threads_in_every_language(kind):
    assert set(PRIVACY[kind]) == set(LANGUAGES)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_chat_space_is_described_in_every_language(kind):
    said = privacy(kind, Space.CHAT)
    assert set(said) == set(LANGUAGES)


def test_a_discourse_chat_space_is_described_as_a_chat_channel():
    assert "chat channel" in privacy("discourse", Space.CHAT)["en"]
    assert "private message" in privacy("discourse", Space.PM)["en"]


def test_only_discourse_offers_a_chat_space():
    assert spaces("discourse") == (Space.PM, Space.CHAT)
    assert spaces("zulip") == (Space.PM,)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_forum_names_every_space_it_offers_in_every_language(kind):
    words = KINDS[kind].space_words
    assert {space: set(words.get(space, {})) for space in spaces(kind)} == {
        space: set(LANGUAGES) for space in spaces(kind)
    }
