"""`!ask` on Zulip: a stream message by the bot naming the member, linked in the pair's DM."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.storage.db import transaction
from plugin.storage.models import Program
from plugin.zulip.public import hash_part
from tests.helpers import assert_no_text, work
from tests.zulip.support import BOT, MAYA, SAM, deliver, pair_sam_and_maya

QUESTION = (
    "How do I ask for a code review without bothering the maintainers of a big project "
    "that gets hundreds of pull requests?"
)


@pytest.fixture
def paired(config, sessions, client, zulip, cli, zulip_story):
    pid = str(zulip_story["id"])
    pair_sam_and_maya(config, sessions, client, zulip, cli, pid, ("UTC", "UTC"))


def give_public_stream(sessions, name: str) -> None:
    with transaction(sessions) as session:
        session.execute(select(Program)).scalar_one().public_stream = name


@pytest.fixture
def stream(zulip, sessions, paired):
    zulip.add_stream("help & questions")
    give_public_stream(sessions, "help & questions")
    return "help & questions"


def ask(config, sessions, client, zulip, text: str) -> None:
    deliver(client, zulip.dm(MAYA, [SAM, BOT], text))
    work(config, sessions)


def test_ask_posts_in_the_stream_by_the_bot_naming_the_member(
    config, sessions, client, zulip, stream
):
    ask(config, sessions, client, zulip, f"!ask {QUESTION}")
    [message] = zulip.stream_messages.values()
    assert message.stream == stream and message.sender_id == zulip.bot.user_id
    assert "@**Maya Lee|42**" in message.content and QUESTION in message.content


def test_the_topic_is_the_first_words_within_60_characters(config, sessions, client, zulip, stream):
    ask(config, sessions, client, zulip, f"!ask {QUESTION}")
    [message] = zulip.stream_messages.values()
    assert len(message.topic) <= 60 and message.topic.startswith("How do I ask for a code")


def test_the_pair_gets_a_narrow_link_to_the_message(config, sessions, client, zulip, stream):
    ask(config, sessions, client, zulip, f"!ask {QUESTION}")
    [message] = zulip.stream_messages.values()
    last = zulip.texts(SAM, MAYA)[-1]
    topic = hash_part(message.topic)  # Zulip's own encoding: `.` for `%`
    stream = "help.20.26.20questions"
    assert f"{zulip.url}/#narrow/stream/{stream}/topic/{topic}/near/{message.id}" in last


def test_the_question_is_not_kept_once_sent(config, sessions, client, zulip, stream):
    ask(config, sessions, client, zulip, "!ask Which bluebird-library should I learn first?")
    assert zulip.stream_messages
    assert_no_text(sessions, "bluebird-library")


def test_without_a_public_stream_the_bot_says_there_is_none(
    config, sessions, client, zulip, paired
):
    ask(config, sessions, client, zulip, f"!ask {QUESTION}")
    assert "no public place" in zulip.texts(SAM, MAYA)[-1]
    assert not zulip.stream_messages


def test_a_stream_that_is_gone_gets_zulips_reason(config, sessions, client, zulip, paired):
    give_public_stream(sessions, "archived")
    ask(config, sessions, client, zulip, f"!ask {QUESTION}")
    last = zulip.texts(SAM, MAYA)[-1]
    assert "did not accept" in last and "Channel 'archived' does not exist" in last


def test_the_answer_is_in_the_programs_language(config, sessions, client, zulip, stream):
    with transaction(sessions) as session:
        session.execute(select(Program)).scalar_one().language = "de"
    ask(config, sessions, client, zulip, f"!ask {QUESTION}")
    [message] = zulip.stream_messages.values()
    assert "fragt:" in message.content
    assert "öffentlich gepostet" in zulip.texts(SAM, MAYA)[-1]
