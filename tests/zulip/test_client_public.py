"""ZulipClient's public questions (`!ask`): a stream message by the bot, found again."""

from __future__ import annotations

import pytest

from plugin.engine.adapter import ForumRejected, PublicQuestion
from plugin.zulip.client import ZulipClient
from tests.fakes.zulip import FakeZulip
from tests.helpers import LOOPBACK, serve_checked

KEY, BOT = "test-key", "mentor-bot@zulip.example.com"
LONG = "How do I ask for a code review without bothering anyone at all, ever, in any project?"
QUESTION = PublicQuestion("maya@example.com", LONG, LONG, "@**Maya Lee|42** asks:")


@pytest.fixture
def org():
    org = FakeZulip(api_key=KEY, bot_email=BOT)
    org.add_user("maya@example.com", id=42, full_name="Maya Lee")
    org.add_stream("help")
    with serve_checked(org):
        yield org


@pytest.fixture
def api(org) -> ZulipClient:
    return ZulipClient(org.url, BOT, KEY, allowed_hosts=LOOPBACK)


def test_the_topic_is_cut_to_60_characters(org, api):
    api.ask_publicly("help", QUESTION, "q1")
    [message] = org.stream_messages.values()
    assert len(message.topic) <= 60 and message.topic.endswith("…")


def test_the_message_names_the_member_and_carries_the_question(org, api):
    api.ask_publicly("help", QUESTION, "q1")
    [message] = org.stream_messages.values()
    assert message.content.startswith("@**Maya Lee|42** asks:") and LONG in message.content


def test_the_answer_is_a_narrow_link_to_the_message(org, api):
    sent = api.ask_publicly("help", QUESTION, "q1")
    assert sent.thread.startswith(f"{org.url}/#narrow/stream/help/topic/How.20do.20I.20ask")
    assert sent.thread.endswith(f"/near/{sent.post_id}")


def test_a_question_sent_before_a_crash_is_found_by_its_marker(api):
    sent = api.ask_publicly("help", QUESTION, "q1")
    assert api.find_public("help", QUESTION, "q1") == sent
    assert api.find_public("help", QUESTION, "never-sent") is None


def test_an_unknown_stream_is_refused(api):
    with pytest.raises(ForumRejected):
        api.check_public_place("nowhere")
