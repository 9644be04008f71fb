"""A program whose pairs talk in Discourse chat (`--space chat`, issue 15), end to end.

Webhooks carry the chat plugin's real shape (chat_message_created); every API call is
answered by the fake Discourse's chat routes, checked against the chat plugin's controllers.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.storage.models import OutboxMessage, Pair
from tests.domain.flow_support import (
    admin_pms,
    awake,
    deliver,
    give_public_category,
    public_topics,
    ready_pair,
    undeclared_calls,
)
from tests.helpers import assert_no_text, work

STEP = re.compile(r"^\*\*Step (\d) of 8", re.M)
SECRET = "my worries about the reorg, heron-velvet"


@pytest.fixture
def chat_story(config, sessions, client, fake, cli, live_forum):
    """A `career` program whose pairs talk in chat, one step a day, open."""
    program = cli(
        *("program", "create", "--forum", "forum", "--group", "community"),
        *("--template", "career", "--mentor-group", "mentors", "--mentee-group", "mentees"),
        *("--cadence-days", "1", "--space", "chat"),
    )
    cli("program", "open", str(program["id"]))
    return program


@pytest.fixture
def paired(config, sessions, client, fake, cli, chat_story) -> Pair:
    ready_pair(config, sessions, client, fake, cli, str(chat_story["id"]))
    with sessions() as session:
        return session.execute(select(Pair)).scalar_one()


def channel(fake):
    found = fake.chat_channel_of("sam", "maya")
    assert found is not None, "the pair has no chat channel"
    return found


def bot_texts(fake) -> list[str]:
    """What the bot wrote in the pair's channel, oldest first."""
    bot = fake.user("mentor_bot").id
    messages = [fake.chat.messages[i] for i in channel(fake).message_ids]
    return [m.message for m in messages if m.user_id == bot]


def say(client, fake, username: str, text: str, at: datetime | None = None) -> None:
    """A member writes in the pair's channel; Discourse's webhook tells the service."""
    body = fake.chat_as(username, channel(fake).id, text)
    if at is not None:
        body["chat_message"]["message"]["created_at"] = at.isoformat()
    deliver(client, "chat_message__chat_message_created", body)


def status(cli, story) -> dict:
    return cli("status", "--program", str(story["id"]))


def test_the_pair_meets_in_a_chat_channel_not_a_private_message(fake, paired):
    names = sorted(fake.users[i].username for i in channel(fake).user_ids)
    assert names == ["maya", "mentor_bot", "sam"]
    [intro] = bot_texts(fake)
    assert "Step 1 of 8" in intro and "@sam" in intro and "chat channel" in intro
    pair_pms = [p for p in fake.private_messages() if {"sam", "maya"} <= set(p["participants"])]
    assert pair_pms == []
    fake.assert_valid()


def test_the_whole_chat_space_story(config, sessions, client, fake, cli, chat_story, paired):
    # Maya writes: who and when are kept, the words are not.
    say(client, fake, "maya", SECRET, at=paired.paired_at + timedelta(hours=1))
    work(config, sessions)
    [pair] = status(cli, chat_story)["pairs"]
    assert pair["thread"] == f"chat:{channel(fake).id}" and pair["last_activity_at"]
    # Step 2 falls due and lands in the channel.
    work(config, sessions, paired.paired_at + timedelta(days=1, seconds=1))
    assert STEP.findall(bot_texts(fake)[-1]) == ["2"]
    # A silent cadence brings a nudge there too.
    at = awake(sessions, paired.paired_at + timedelta(days=2, hours=12, minutes=1))
    work(config, sessions, at)
    assert any("@maya" in t and not STEP.search(t) for t in bot_texts(fake)[2:])
    # A command is answered in the channel.
    say(client, fake, "sam", "!help")
    work(config, sessions, at)
    assert "`!pause`" in bot_texts(fake)[-1]
    # One cadence after the last step the pair completes, thanked in the channel.
    work(config, sessions, paired.paired_at + timedelta(days=8, seconds=1))
    assert status(cli, chat_story)["pairs"][0]["state"] == "completed"
    assert "last step" in bot_texts(fake)[-1] and "`!graduate`" in bot_texts(fake)[-1]
    assert not any("/feedback/" in t for t in bot_texts(fake))  # ratings go privately
    assert_no_text(sessions, "heron-velvet")
    fake.assert_valid()


def test_pause_in_chat_holds_the_steps(config, sessions, client, fake, cli, chat_story, paired):
    say(client, fake, "maya", "!pause 1")
    work(config, sessions)
    assert status(cli, chat_story)["pairs"][0]["state"] == "paused"
    before = len(bot_texts(fake))
    work(config, sessions, paired.paired_at + timedelta(days=3))
    assert not [t for t in bot_texts(fake)[before:] if STEP.search(t)]


def test_end_in_chat_ends_the_pairing(config, sessions, client, fake, cli, chat_story, paired):
    say(client, fake, "sam", "!end")
    work(config, sessions)
    assert status(cli, chat_story)["pairs"][0]["state"] == "ended"


def test_block_in_chat_ends_the_pairing_for_good(
    config, sessions, client, fake, cli, chat_story, paired
):
    say(client, fake, "maya", "!block")
    work(config, sessions)
    assert status(cli, chat_story)["pairs"][0]["state"] == "ended"
    assert cli("match", "--program", str(chat_story["id"]))["pairs"] == []


def test_a_report_in_chat_reaches_the_admins_and_flags_nothing(
    config, sessions, client, fake, paired
):
    say(client, fake, "maya", "!report he asked for my home address")
    work(config, sessions)
    assert any("home address" in p["posts"][0] for p in admin_pms(fake))
    assert fake.flags == []
    assert not any(
        r.path.startswith("/chat/api/channels/") and "flag" in r.path for r in fake.requests
    )


def test_a_message_in_chat_whose_answer_was_lost_is_posted_once(
    config, sessions, client, fake, paired
):
    fake.accept_then_fail_next("POST", r"^/chat/\d+\.json$", 502)
    work(config, sessions, paired.paired_at + timedelta(days=1, seconds=1))  # step 2, lost answer
    work(config, sessions, paired.paired_at + timedelta(days=1, minutes=5))  # the retry looks first
    assert [STEP.findall(t) for t in bot_texts(fake)] == [["1"], ["2"]]
    with sessions() as session:
        states = session.execute(select(OutboxMessage.state, OutboxMessage.uncertain)).all()
    assert states and all(state == "sent" for state, _ in states)  # the retry found it
    assert any(uncertain for _, uncertain in states)


def test_ask_in_chat_links_the_public_topic_in_the_channel(config, sessions, client, fake, paired):
    category = fake.add_category("Questions")
    give_public_category(sessions, category.id)
    say(client, fake, "maya", "!ask How do I prepare for a first code review at work?")
    work(config, sessions)
    [topic] = public_topics(fake)
    assert fake.users[topic.user_id].username == "maya"
    assert f"{fake.url}/t/{topic.slug}/{topic.id}" in bot_texts(fake)[-1]


def test_every_call_of_a_chat_pairing_is_declared_in_the_manifest(
    config, sessions, client, fake, paired
):
    say(client, fake, "maya", "!report he asked for my home address")
    work(config, sessions, paired.paired_at + timedelta(days=8, seconds=1))
    assert fake.requests and undeclared_calls(fake) == set()


def test_a_pair_whose_channel_the_forum_refuses_ends_and_both_wait_first_in_line(
    config, sessions, client, fake, cli, chat_story
):
    fake.user("maya").chat_enabled = False  # Discourse leaves her out of the channel
    ready_pair(config, sessions, client, fake, cli, str(chat_story["id"]))
    [pair] = status(cli, chat_story)["pairs"]
    assert pair["state"] == "ended" and pair["thread"] is None
    states = {s["user"]: s["state"] for s in status(cli, chat_story)["signups"]}
    assert states == {"sam": "ready", "maya": "ready"}


def test_the_admins_hear_why_a_pair_could_not_be_introduced(
    config, sessions, client, fake, cli, chat_story
):
    fake.user("maya").chat_enabled = False
    ready_pair(config, sessions, client, fake, cli, str(chat_story["id"]))
    work(config, sessions)
    [told] = [p for p in admin_pms(fake) if "could not be introduced" in p["title"]]
    assert "maya" in told["posts"][0] and "cannot chat" in told["posts"][0]
