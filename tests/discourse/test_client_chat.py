"""DiscourseClient's chat space: a direct-message channel of the pair and the bot (issue 15).

Every call goes to the fake Discourse over real HTTP; its chat routes follow the chat
plugin's controllers (tests/fakes/discourse_chat.py), and serve_checked fails a test whose
requests break them.
"""

from __future__ import annotations

import pytest

from plugin.discourse.chat import marker_line
from plugin.engine.adapter import ForumRejected, ForumUnavailable
from tests.fakes.discourse import FakeDiscourse

PAIR = ["sam", "maya"]
TITLE = "Mentorship: Sam and Maya"


@pytest.fixture
def site(site: FakeDiscourse) -> FakeDiscourse:
    site.add_user("sam", id=43, name="Sam Ortiz")
    return site


def texts(site, channel_id: int) -> list[str]:
    channel = site.chat_channels[channel_id]
    return [site.chat.messages[i].message for i in channel.message_ids]


def test_opening_makes_one_channel_of_the_pair_and_the_bot(site, api):
    sent = api.open_chat(TITLE, "Welcome, both of you", PAIR, "open1")
    channel = site.chat_channel_of("sam", "maya")
    assert channel is not None and sent.thread == f"chat:{channel.id}"
    names = sorted(site.users[i].username for i in channel.user_ids)
    assert names == ["maya", "mentor_bot", "sam"]


def test_the_opening_message_carries_the_text_and_its_marker(site, api):
    sent = api.open_chat(TITLE, "Welcome, both of you", PAIR, "open1")
    [text] = texts(site, int(sent.thread.removeprefix("chat:")))
    assert text.startswith("Welcome, both of you") and text.endswith(marker_line("open1"))


def test_opening_again_for_the_same_pair_reuses_their_channel(site, api):
    first = api.open_chat(TITLE, "Welcome", PAIR, "open1")
    again = api.open_chat(TITLE, "Welcome back", PAIR, "open2")
    assert again.thread == first.thread and len(site.chat_channels) == 1


def test_a_post_in_a_chat_thread_is_a_chat_message(site, api):
    opened = api.open_chat(TITLE, "Welcome", PAIR, "open1")
    sent = api.post(opened.thread, "Step 2 of 8", "step2")
    assert sent.thread == opened.thread and sent.post_id.startswith("chat-")
    assert texts(site, int(opened.thread.removeprefix("chat:")))[-1].startswith("Step 2 of 8")
    assert site.topics == {}  # no private message was made


def test_a_message_sent_before_a_crash_is_found_by_its_marker(site, api):
    opened = api.open_chat(TITLE, "Welcome", PAIR, "open1")
    site.accept_then_fail_next("POST", r"^/chat/\d+\.json$", 502)
    with pytest.raises(ForumUnavailable):
        api.post(opened.thread, "Step 2 of 8", "step2")
    found = api.find_post(opened.thread, "step2")
    assert found is not None and found.thread == opened.thread


def test_a_message_never_sent_is_not_found(site, api):
    opened = api.open_chat(TITLE, "Welcome", PAIR, "open1")
    assert api.find_post(opened.thread, "step2") is None


def test_a_members_message_with_our_marker_is_not_taken_for_ours(site, api):
    opened = api.open_chat(TITLE, "Welcome", PAIR, "open1")
    site.chat_as("maya", int(opened.thread.removeprefix("chat:")), marker_line("step2"))
    assert api.find_post(opened.thread, "step2") is None


def test_an_opening_whose_answer_was_lost_is_found_in_the_same_channel(site, api):
    site.accept_then_fail_next("POST", r"^/chat/\d+\.json$", 504)
    with pytest.raises(ForumUnavailable):
        api.open_chat(TITLE, "Welcome", PAIR, "open1")
    found = api.find_chat(TITLE, PAIR, "open1")
    assert found is not None and len(site.chat_channels) == 1


def test_a_channel_made_before_a_crash_is_reused_by_the_next_opening(site, api):
    site.accept_then_fail_next("POST", r"^/chat/api/direct-message-channels\.json$", 502)
    with pytest.raises(ForumUnavailable):
        api.open_chat(TITLE, "Welcome", PAIR, "open1")
    assert api.find_chat(TITLE, PAIR, "open1") is None
    api.open_chat(TITLE, "Welcome", PAIR, "open1")
    [channel] = site.chat_channels.values()
    assert len(channel.message_ids) == 1


def test_a_resend_refused_as_identical_takes_the_message_already_there(site, api):
    opened = api.open_chat(TITLE, "Welcome", PAIR, "open1")
    first = api.post(opened.thread, "Step 2 of 8", "step2")
    # Sent again within Discourse's 10 seconds: it refuses the identical text (422).
    assert api.post(opened.thread, "Step 2 of 8", "step2") == first
    assert len(site.chat_channels[int(opened.thread.removeprefix("chat:"))].message_ids) == 2


def test_a_member_who_cannot_chat_is_refused_by_name(site, api):
    site.user("maya").chat_enabled = False
    with pytest.raises(ForumRejected, match="maya"):
        api.open_chat(TITLE, "Welcome", PAIR, "open1")


def test_a_post_in_a_private_message_is_still_a_post(site, api):
    opened = api.open_thread(TITLE, "Welcome", PAIR, "pm1")
    api.post(opened.thread, "Step 2 of 8", "step2")
    assert site.chat_channels == {} and len(site.topics[int(opened.thread)].post_ids) == 2


def test_a_bot_that_may_chat_passes_the_chat_check(site, api):
    api.check_chat()
    assert site.requests[-1].path.startswith("/chat/api/channels")


def test_chat_turned_off_is_named_by_its_site_setting(site, api):
    site.chat.settings.enabled = False
    with pytest.raises(ForumRejected, match="chat_enabled"):
        api.check_chat()


def test_a_bot_that_may_not_chat_is_told_which_settings_let_it(site, api):
    # Chat::BaseController#ensure_can_chat: a bot outside chat_allowed_groups gets 403.
    site.fail_next("GET", r"^/chat/api/channels", 403)
    with pytest.raises(ForumRejected, match="mentor_bot may not chat.*chat_allowed_groups"):
        api.check_chat()
