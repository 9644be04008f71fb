"""How each forum names members and describes its private threads in our messages."""

from plugin.forums.registry import PRIVACY, mention


def test_discourse_mentions_by_username():
    assert mention("discourse", "maya", "Maya Lee", 42) == "@maya"


def test_zulip_mentions_by_name_and_id():
    assert mention("zulip", "maya@example.com", "Maya Lee", 42) == "@**Maya Lee|42**"


def test_zulip_threads_are_not_said_to_be_readable_by_admins():
    assert "admins can read" not in PRIVACY["zulip"]
    assert "admins can read private messages" in PRIVACY["discourse"]
