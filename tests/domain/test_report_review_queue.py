"""Reports on Discourse also reach the forum's review queue (INTERFACE.md, issue 15).

The post that carried `!report` is flagged notify_moderators, as the reporting member, with
the report's text; the private message to the program's admins stays.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from plugin.storage.models import OutboxMessage, Pair
from tests.domain.flow_support import admin_pms, deliver, ready_pair, thread_of, undeclared_calls
from tests.fakes.discourse_flags import FakeFlag
from tests.helpers import pm_post, work

NOTIFY_MODERATORS = 7
TEXT = "he asked for my home address"


@pytest.fixture
def paired(config, sessions, client, fake, cli, story):
    ready_pair(config, sessions, client, fake, cli, str(story["id"]))
    with sessions() as session:
        return session.execute(select(Pair)).scalar_one()


def post(client, fake, username: str, raw: str, topic_id: int) -> int:
    """A post the forum really holds, and its post_created webhook; its id."""
    user = fake.user(username)
    made = fake.create_post(user, fake.topics[topic_id], raw)
    deliver(
        client,
        "post__post_created",
        pm_post(made.id, topic_id=topic_id, user_id=user.id, username=username, raw=raw),
    )
    return made.id


def in_pair_thread(client, fake, username: str, raw: str) -> int:
    return post(client, fake, username, raw, thread_of(fake, "sam", "maya")["topic_id"])


def to_the_bot(client, fake, username: str, raw: str) -> int:
    """A new private message of the member and the bot alone, carrying `raw`."""
    topic = fake.create_topic(
        fake.user(username), "A word", "private_message", user_ids=[fake.user("mentor_bot").id]
    )
    return post(client, fake, username, raw, topic.id)


def test_a_report_in_the_pair_thread_flags_its_post_as_the_reporter(
    config, sessions, client, fake, paired
):
    post_id = in_pair_thread(client, fake, "maya", f"!report {TEXT}")
    work(config, sessions)
    assert fake.flags == [FakeFlag(post_id, "maya", NOTIFY_MODERATORS, TEXT)]
    fake.assert_valid()


def test_a_report_sent_to_the_bot_privately_flags_that_post(config, sessions, client, fake, paired):
    post_id = to_the_bot(client, fake, "maya", f"!report {TEXT}")
    work(config, sessions)
    assert fake.flags == [FakeFlag(post_id, "maya", NOTIFY_MODERATORS, TEXT)]


def test_a_flagged_report_still_reaches_the_programs_admins(config, sessions, client, fake, paired):
    in_pair_thread(client, fake, "maya", f"!report {TEXT}")
    work(config, sessions)
    assert any(TEXT in p["posts"][0] for p in admin_pms(fake))


def test_an_empty_report_flags_nothing(config, sessions, client, fake, paired):
    in_pair_thread(client, fake, "maya", "!report")
    work(config, sessions)
    assert fake.flags == []


def test_the_outbox_keeps_no_report_text_once_the_flag_is_sent(
    config, sessions, client, fake, paired
):
    in_pair_thread(client, fake, "maya", f"!report {TEXT}")
    work(config, sessions)
    with sessions() as session:
        rows = session.execute(select(OutboxMessage.kind, OutboxMessage.payload)).all()
    assert ("flag_for_review" in {kind for kind, _ in rows}) and fake.flags
    assert [kind for kind, payload in rows if TEXT in payload or '"maya"' in payload] == []


def test_a_flag_whose_answer_was_lost_counts_as_done_when_discourse_says_already_flagged(
    config, sessions, client, fake, paired
):
    fake.accept_then_fail_next("POST", r"^/post_actions\.json$", 502)  # flagged, answer lost
    in_pair_thread(client, fake, "maya", f"!report {TEXT}")
    work(config, sessions)
    work(config, sessions, datetime.now(UTC) + timedelta(hours=2))  # the retry is refused 403
    with sessions() as session:
        state = session.execute(
            select(OutboxMessage.state).where(OutboxMessage.kind == "flag_for_review")
        ).scalar_one()
    assert state == "sent" and len(fake.flags) == 1


def test_a_flag_refused_on_its_first_attempt_is_not_counted_as_done(
    config, sessions, client, fake, paired
):
    fake.fail_next("POST", r"^/post_actions\.json$", 403)  # e.g. a key for the bot alone
    in_pair_thread(client, fake, "maya", f"!report {TEXT}")
    work(config, sessions)
    with sessions() as session:
        row = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "flag_for_review")
        ).scalar_one()
    assert row.state == "pending" and "403" in (row.last_error or "") and fake.flags == []


def test_a_report_sent_to_the_bot_in_chat_reaches_the_admins_and_flags_nothing(
    config, sessions, client, fake, paired
):
    # Maya opens a chat with the bot (as Discourse's own composer would) and reports there.
    made = requests.post(
        f"{fake.url}/chat/api/direct-message-channels.json",
        json={"target_usernames": ["mentor_bot"]},
        headers={"Api-Key": "test-key", "Api-Username": "maya"},
        timeout=5,
    )
    body = fake.chat_as("maya", made.json()["channel"]["id"], f"!report {TEXT}")
    deliver(client, "chat_message__chat_message_created", body)
    work(config, sessions)
    assert any(TEXT in p["posts"][0] for p in admin_pms(fake))
    with sessions() as session:
        kinds = set(session.execute(select(OutboxMessage.kind)).scalars())
    assert "flag_for_review" not in kinds and fake.flags == []


def test_every_call_of_a_flagged_report_is_declared_in_the_manifest(
    config, sessions, client, fake, paired
):
    in_pair_thread(client, fake, "maya", f"!report {TEXT}")
    work(config, sessions)
    assert fake.flags and undeclared_calls(fake) == set()
