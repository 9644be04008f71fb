"""Issue 9, finding 8: erasing a person leaves no trace of them as an admin either: not in
programs' admin lists, drafts, admin sessions, nor failed events and forum calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin.domain.erasure import erase_member
from plugin.storage.db import reading, transaction
from plugin.storage.models import (
    InboxEvent,
    Member,
    OutboxMessage,
    Program,
    ProposalDraft,
    utcnow,
)
from tests.domain.flow_support import deliver, join
from tests.helpers import assert_no_text, pm_post, work
from tests.web.admin.support import make_program, post, set_connect_secret, sign_in

ZEPH, FULL, ZEPH_ID, ALICE_ID = "zephyrine", "Zephyrine Quill", 77, 5


def _programs(cli, sessions, forum) -> tuple[int, int]:
    """One program with --admins resolved by the forum, one older row naming them only."""
    program = cli(
        "program", "create", "--forum", "forum", "--group", "community", "--template", "skills",
        "--mentor-group", "mentors", "--mentee-group", "mentees", "--admins", f"{ZEPH},alice",
    )  # fmt: skip
    cli("program", "open", str(program["id"]))
    legacy = make_program(sessions, forum.id, title="Legacy", admins=("alice",), state="draft")
    with transaction(sessions) as db:
        # As the 0006 upgrade leaves a name it could not resolve: no id, and another case.
        row = db.get(Program, legacy)
        row.admins, row.admin_ids = json.dumps(["alice", "ZEPHYRINE"]), json.dumps([ALICE_ID, None])
        db.add(ProposalDraft(program_id=legacy, created_by="Zephyrine", max_tz_gap_hours=None))
    return program["id"], legacy


def _failures(forum_id: int) -> list:
    """A failed event of theirs, a failed one naming them, a dead call to them."""
    mine = {"post_id": 555, "topic_id": 9, "user_id": ZEPH_ID, "created_at": "2030-01-01T10:00Z"}
    naming = {**mine, "post_id": 556, "user_id": 41, "command": f"!report {ZEPH} never answers"}
    return [
        InboxEvent(
            forum_id=forum_id,
            event="post_created",
            content_key=f"post_created:{body['post_id']}",
            payload=json.dumps(body),
            state="failed",
            attempts=8,
            last_error=f"could not handle the post of {ZEPH}",
        )
        for body in (mine, naming)
    ] + [
        OutboxMessage(
            forum_id=forum_id,
            key="admins:1:report:cmd:556",
            kind="open_thread",
            payload=json.dumps({"title": "Report", "text": "...", "usernames": [ZEPH, "alice"]}),
            state="dead",
            attempts=8,
            last_error=f"Discourse refused: {FULL} cannot receive messages",
        )
    ]


@pytest.fixture(params=["admin only", "also a member"])
def traces(request, config, sessions, client, fake, cli, story, forum):
    """Zephyrine administers programs, is signed in, drafted proposals, and failed."""
    fake.add_user(ZEPH, id=ZEPH_ID, name=FULL, email="zq@example.com")
    if request.param == "also a member":
        join(client, fake, "mentees", 44, ZEPH)
        work(config, sessions)
    resolved, legacy = _programs(cli, sessions, forum)
    set_connect_secret(sessions, forum.id)
    sign_in(client, ZEPH, user_id=ZEPH_ID)
    assert post(client, f"/admin/programs/{resolved}/matching/propose").status_code == 303
    with transaction(sessions) as db:
        db.add_all(_failures(forum.id))
    return resolved, legacy


def _destroy(client) -> None:
    body = {"user": {"id": ZEPH_ID, "username": ZEPH, "email": "zq@example.com", "name": FULL}}
    deliver(client, "user__user_destroyed", body)


def test_erasure_removes_member_from_admin_lists_drafts_sessions_and_failed_events(
    config, sessions, client, traces
):
    resolved, legacy = traces
    _destroy(client)
    work(config, sessions)
    for needle in (ZEPH, ZEPH.upper(), ZEPH.title(), FULL, "zq@example.com"):
        assert_no_text(sessions, needle)  # every table, on SQLite and PostgreSQL
    if config.is_sqlite:
        path = Path(config.database_url.removeprefix("sqlite:///"))
        data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*")).lower()
        assert ZEPH.encode() not in data and b"zq@example.com" not in data
    with reading(sessions) as db:
        for program_id in (resolved, legacy):
            program = db.get(Program, program_id)
            assert json.loads(program.admins) == ["alice"]
            assert json.loads(program.admin_ids) == [ALICE_ID]
    assert client.get("/admin/").status_code == 302  # the session is gone


def test_erasure_keeps_the_events_of_others_that_are_still_to_do(
    config, sessions, client, fake, cli, story, forum
):
    fake.add_user(ZEPH, id=ZEPH_ID, name=FULL)
    _programs(cli, sessions, forum)
    # Sam's command quotes Zephyrine, but it is Sam's to act on: it is not dropped.
    body = pm_post(9500, topic_id=9, user_id=41, username="sam", raw=f"!help {ZEPH}")
    deliver(client, "post__post_created", body)
    _destroy(client)
    with transaction(sessions) as db:
        # Erase first, as a worker that took the deletion before the post would.
        erase_member(db, forum.id, ZEPH_ID, utcnow())
    with reading(sessions) as db:
        # The content key names the post and its time (a reused post id is another event).
        key = InboxEvent.content_key.like("post_created:9500:%")
        [event] = db.query(InboxEvent).filter(key).all()
        assert event.state == "pending" and event.payload is not None


def test_erasure_clears_the_language_the_members_account_named(
    config, sessions, client, fake, story, forum
):
    fake.allow_user_locale = True
    fake.add_user(ZEPH, id=ZEPH_ID, name=FULL, email="zq@example.com", locale="de")
    join(client, fake, "mentees", 44, ZEPH)
    work(config, sessions)
    assert _member(sessions, forum.id).locale == "de"
    _destroy(client)
    work(config, sessions)
    member = _member(sessions, forum.id)
    assert member.erased and member.locale is None


def _member(sessions, forum_id: int) -> Member:
    with reading(sessions) as db:
        return db.query(Member).filter_by(forum_id=forum_id, forum_user_id=ZEPH_ID).one()
