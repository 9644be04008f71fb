"""Personal links (issue 12): rendered when sent, never written to the database's files.

A sign-up, rating or admin sign-in link is a bearer credential. The outbox keeps only a
reference to it; the link is minted just before the forum call. On SQLite no byte of the
database file or its write-ahead log holds the token; on PostgreSQL no column of any table.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plugin.storage.models import OutboxMessage, Pair
from tests.domain.flow_support import join, ready_pair, thread_of
from tests.helpers import LINK, assert_no_text, work
from tests.storage.files_support import database_text
from tests.zulip.support import BOT, deliver

RATING = re.compile(r"http://127\.0\.0\.1:8000(/feedback/[A-Za-z0-9_.\-]+)")
ADMIN = re.compile(r"http://127\.0\.0\.1:8000(/admin/link/[A-Za-z0-9_.\-]+)")


def token_of(path: str) -> bytes:
    """The token: the last part of a link's path."""
    return path.rsplit("/", 1)[1].encode()


def test_a_queued_signup_message_keeps_a_reference_not_the_link(
    config, sessions, client, fake, story
):
    fake.fail_next("POST", r"^/posts\.json$", 500)  # the forum is down: the message waits
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    with sessions() as session:
        row = session.execute(select(OutboxMessage)).scalar_one()
    assert row.state == "pending" and row.kind == "link_open"
    assert json.loads(row.payload)["link"]["type"] == "signup"
    assert_no_text(sessions, "/signup/")


def test_a_sent_signup_link_is_in_no_database_file_and_opens_the_form(
    config, sessions, client, fake, story
):
    fake.fail_next("POST", r"^/posts\.json$", 500)  # queued first, then sent on a retry
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    work(config, sessions, datetime.now(UTC) + timedelta(hours=1))
    path = LINK.search(thread_of(fake, "maya")["posts"][0]).group(1)
    assert token_of(path) not in database_text(config.database_url)
    assert client.get(path).status_code == 200


def test_a_sent_rating_link_is_in_no_database_file_and_opens_the_rating_page(
    config, sessions, client, fake, cli, story
):
    ready_pair(config, sessions, client, fake, cli, str(story["id"]))
    with sessions() as session:
        paired_at = session.execute(select(Pair)).scalar_one().paired_at
    work(config, sessions, paired_at + timedelta(days=8, seconds=1))
    [pm] = [p for p in fake.private_messages() if p["title"].startswith("How was")][:1]
    path = RATING.search("\n".join(pm["posts"])).group(1)
    assert token_of(path) not in database_text(config.database_url)
    assert client.get(path).status_code == 200


def test_a_sent_admin_sign_in_link_is_in_no_database_file_and_signs_in(
    config, sessions, client, zulip, cli, zulip_story
):
    deliver(client, zulip.dm("alice@example.com", [BOT], "admin"))
    work(config, sessions)
    [answer] = zulip.texts("alice@example.com")[1:]
    path = ADMIN.search(answer).group(1)
    assert token_of(path) not in database_text(config.database_url)
    assert client.get(path).status_code == 200
