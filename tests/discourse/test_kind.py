"""What Discourse's ForumKind tells the core: the web address of a pair's thread."""

from plugin.discourse.kind import KIND


def test_a_pairs_thread_opens_at_its_topic():
    assert KIND.thread_url("https://forum.example", "123") == "https://forum.example/t/123"


def test_a_trailing_slash_on_the_forum_url_is_not_doubled():
    assert KIND.thread_url("https://forum.example/", "123") == "https://forum.example/t/123"


def test_a_thread_that_is_not_a_topic_id_gets_no_url():
    assert KIND.thread_url("https://forum.example", "../admin") is None


def test_a_chat_space_opens_at_its_channel():
    url = KIND.thread_url("https://forum.example", "chat:57")
    assert url == "https://forum.example/chat/c/-/57"


def test_a_chat_thread_without_a_channel_id_gets_no_url():
    assert KIND.thread_url("https://forum.example", "chat:../x") is None
