"""Nobody left silently unmatched: applying matching tells everyone still waiting, once."""

from __future__ import annotations

import json

from sqlalchemy import select

from plugin.storage.db import reading, transaction
from plugin.storage.models import Member, OutboxMessage, Program
from tests.web.admin.support import add_signup, make_program


def messages(sessions) -> list[tuple[str, str]]:
    """(username, title) of each 'still waiting' private message in the outbox."""
    with reading(sessions) as db:
        rows = db.execute(
            select(OutboxMessage)
            .where(OutboxMessage.key.contains(":unmatched:"))
            .order_by(OutboxMessage.id)
        ).scalars()
        payloads = [json.loads(row.payload) for row in rows]
    return [(p["usernames"][0], p["title"]) for p in payloads]


def told(sessions) -> dict[str, str]:
    """Username -> the title of the message they were sent (each told at most once)."""
    found = messages(sessions)
    assert len({name for name, _ in found}) == len(found), found
    return dict(found)


def test_applying_matching_tells_each_member_left_waiting(sessions, forum, cli):
    program = make_program(sessions, forum.id)
    add_signup(sessions, program, "sam", "mentor", topics="python")
    add_signup(sessions, program, "maya", "mentee", topics="python", timezone="Asia/Tokyo")
    add_signup(sessions, program, "ola", "mentee", topics="python")
    add_signup(sessions, program, "lee", "mentor", topics="design", capacity=0)
    result = cli("match", "--program", str(program), "--apply")
    [pair] = result["pairs"]
    assert (pair["mentor"], pair["mentee"]) == ("sam", "ola")
    # maya waits on; lee has no room, so nothing is waiting for lee to hear.
    assert told(sessions) == {"maya": "No mentor for you yet"}


def test_a_mentor_with_room_who_got_nobody_new_is_told(sessions, forum, cli):
    program = make_program(sessions, forum.id)
    add_signup(sessions, program, "sam", "mentor", topics="python", capacity=2)
    add_signup(sessions, program, "lee", "mentor", topics="design")
    add_signup(sessions, program, "maya", "mentee", topics="python")
    cli("match", "--program", str(program), "--apply")
    assert told(sessions) == {"lee": "No new mentee for you this time"}


def test_a_dry_run_tells_nobody(sessions, forum, cli):
    program = make_program(sessions, forum.id)
    add_signup(sessions, program, "lee", "mentor", topics="design")
    add_signup(sessions, program, "ola", "mentee", topics="rust", timezone="Asia/Tokyo")
    cli("match", "--program", str(program))
    assert told(sessions) == {}


def test_each_apply_tells_them_again_and_only_once(sessions, forum, cli):
    program = make_program(sessions, forum.id)
    add_signup(sessions, program, "ola", "mentee", topics="rust")
    cli("match", "--program", str(program), "--apply")
    cli("match", "--program", str(program), "--apply")
    assert [name for name, _ in messages(sessions)] == ["ola", "ola"]


def test_the_message_is_in_the_members_language(sessions, forum, cli):
    program = make_program(sessions, forum.id)
    add_signup(sessions, program, "ola", "mentee", topics="rust")
    with transaction(sessions) as db:
        db.execute(select(Member).where(Member.username == "ola")).scalar_one().locale = "de"
    cli("match", "--program", str(program), "--apply")
    assert told(sessions) == {"ola": "Noch keine Mentor:in für dich"}


def test_the_program_language_is_used_when_the_member_names_none(sessions, forum, cli):
    program = make_program(sessions, forum.id)
    with transaction(sessions) as db:
        db.get_one(Program, program).language = "de"
    add_signup(sessions, program, "lee", "mentor", topics="design")
    cli("match", "--program", str(program), "--apply")
    assert told(sessions) == {"lee": "Diesmal keine neue Mentee für dich"}
