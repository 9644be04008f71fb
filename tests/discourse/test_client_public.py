"""DiscourseClient's public questions (`!ask`): a topic created as the member, found again."""

from __future__ import annotations

import pytest

from plugin.engine.adapter import ForumNotFound, PublicQuestion

QUESTION = PublicQuestion("maya", "How should I start with reviews?", "Long enough words.. ok", "")


def test_the_topic_is_created_by_the_member_not_the_bot(site, api):
    category = site.add_category("Questions")
    api.ask_publicly(str(category.id), QUESTION, "q1")
    [topic] = site.topics.values()
    assert site.users[topic.user_id].username == "maya"
    assert site.requests[-1].headers.get("Api-Username") == "maya"


def test_the_answer_is_the_topics_address(site, api):
    category = site.add_category("Questions")
    sent = api.ask_publicly(str(category.id), QUESTION, "q1")
    [topic] = site.topics.values()
    assert sent.thread == f"{site.url}/t/{topic.slug}/{topic.id}"


def test_a_question_sent_before_a_crash_is_found_by_its_marker(site, api):
    category = site.add_category("Questions")
    sent = api.ask_publicly(str(category.id), QUESTION, "q1")
    assert api.find_public(str(category.id), QUESTION, "q1") == sent
    assert api.find_public(str(category.id), QUESTION, "never-sent") is None


def test_an_unknown_category_is_not_found(api):
    with pytest.raises(ForumNotFound):
        api.check_public_place("99")
