"""`!ask` on Discourse: the question becomes a public topic created as the member (issue 15)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.storage.db import transaction
from plugin.storage.models import Pair, Program
from tests.domain.flow_support import give_public_category, posts, public_topics, ready_pair, say
from tests.helpers import assert_no_text, work

QUESTION = "How do I ask for a code review without bothering the maintainers?"


@pytest.fixture
def paired(config, sessions, client, fake, cli, story):
    ready_pair(config, sessions, client, fake, cli, str(story["id"]))


@pytest.fixture
def category(fake, sessions, paired):
    category = fake.add_category("Questions")
    give_public_category(sessions, category.id)
    return category


def test_ask_opens_a_topic_in_the_category_as_the_member(config, sessions, client, fake, category):
    say(client, fake, "maya", f"!ask {QUESTION}")
    work(config, sessions)
    [topic] = public_topics(fake)
    assert topic.category_id == category.id
    assert fake.users[topic.user_id].username == "maya"
    assert fake.posts[topic.post_ids[0]].raw == QUESTION


def test_the_pair_thread_gets_the_topics_link(config, sessions, client, fake, category):
    say(client, fake, "maya", f"!ask {QUESTION}")
    work(config, sessions)
    [topic] = public_topics(fake)
    assert f"{fake.url}/t/{topic.slug}/{topic.id}" in posts(fake)[-1]


def test_the_title_is_the_questions_first_words(config, sessions, client, fake, category):
    say(client, fake, "maya", f"!ask {QUESTION}")
    work(config, sessions)
    [topic] = public_topics(fake)
    assert QUESTION.startswith(topic.title.rstrip("…")) and len(topic.title) <= 60


def test_a_short_question_gets_a_title_long_enough_for_the_forum(
    config, sessions, client, fake, category
):
    say(client, fake, "maya", "!ask Rust or Go, which one first?")
    work(config, sessions)
    [topic] = public_topics(fake)
    assert len(topic.title) >= 15 and "Rust or Go" in topic.title


def test_nothing_else_of_the_thread_goes_public(config, sessions, client, fake, category):
    say(client, fake, "sam", "my private note about a purple-elephant")
    say(client, fake, "maya", f"!ask {QUESTION}")
    work(config, sessions)
    [topic] = public_topics(fake)
    assert all("purple-elephant" not in fake.posts[i].raw for i in topic.post_ids)


def test_the_question_is_not_kept_once_sent(config, sessions, client, fake, category):
    say(client, fake, "maya", "!ask Which bluebird-library should I learn for testing?")
    work(config, sessions)
    assert public_topics(fake)
    assert_no_text(sessions, "bluebird-library")


def test_without_a_public_place_the_bot_says_there_is_none(config, sessions, client, fake, paired):
    say(client, fake, "maya", f"!ask {QUESTION}")
    work(config, sessions)
    assert "no public place" in posts(fake)[-1]
    assert public_topics(fake) == []


def test_an_empty_ask_is_told_how_to_ask(config, sessions, client, fake, category):
    say(client, fake, "maya", "!ask")
    work(config, sessions)
    assert "write your question after the command" in posts(fake)[-1]
    assert public_topics(fake) == []


def test_a_too_short_question_gets_the_forums_reason(config, sessions, client, fake, category):
    say(client, fake, "maya", "!ask Rust or Go?")
    work(config, sessions)
    assert public_topics(fake) == []
    last = posts(fake)[-1]
    assert "did not accept" in last and "Body is too short (minimum is 20 characters)" in last


def test_a_duplicate_title_gets_the_forums_reason(config, sessions, client, fake, category):
    say(client, fake, "maya", f"!ask {QUESTION}")
    work(config, sessions)
    say(client, fake, "sam", f"!ask {QUESTION}")
    work(config, sessions)
    assert len(public_topics(fake)) == 1
    assert "Title has already been used" in posts(fake)[-1]


def test_a_category_the_member_may_not_post_in_is_refused(config, sessions, client, fake, paired):
    closed = fake.add_category("Staff", allowed_user_ids=[fake.user("alice").id])
    give_public_category(sessions, closed.id)
    say(client, fake, "maya", f"!ask {QUESTION}")
    work(config, sessions)
    assert public_topics(fake) == []
    assert "did not accept" in posts(fake)[-1]


def test_the_answer_follows_the_pairs_language(config, sessions, client, fake, paired):
    with transaction(sessions) as session:
        session.execute(select(Program)).scalar_one().language = "de"
    say(client, fake, "maya", f"!ask {QUESTION}")
    work(config, sessions)
    assert "keinen öffentlichen Ort" in posts(fake)[-1]


def test_ask_in_an_ended_pair_is_refused(config, sessions, client, fake, category):
    say(client, fake, "maya", "!end")
    work(config, sessions)
    say(client, fake, "maya", f"!ask {QUESTION}")
    work(config, sessions)
    assert public_topics(fake) == []
    with sessions() as session:
        assert session.execute(select(Pair.state)).scalar_one() != "active"


def test_a_refusal_is_told_in_the_pairs_language(config, sessions, client, fake, category):
    with transaction(sessions) as session:
        session.execute(select(Program)).scalar_one().language = "de"
    say(client, fake, "maya", "!ask Rust oder Go?")
    work(config, sessions)
    assert "Das Forum hat die Frage nicht angenommen" in posts(fake)[-1]
