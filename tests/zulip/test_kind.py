"""What Zulip's ForumKind tells the core: the web address of a pair's thread."""

from plugin.zulip.client import thread_name
from plugin.zulip.kind import KIND


def test_a_pairs_thread_opens_as_a_group_dm_narrow_of_its_members():
    url = KIND.thread_url("https://chat.example", thread_name([42, 41]))
    assert url == "https://chat.example/#narrow/dm/41,42-group"


def test_a_trailing_slash_on_the_organisation_url_is_not_doubled():
    assert KIND.thread_url("https://chat.example/", "41,42") == (
        "https://chat.example/#narrow/dm/41,42-group"
    )


def test_a_thread_that_is_not_user_ids_gets_no_url():
    assert KIND.thread_url("https://chat.example", "41,x") is None
