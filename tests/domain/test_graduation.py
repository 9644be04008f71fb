"""`!graduate` on Discourse: the mentee of a completed pairing joins the mentor group.

The fake Discourse answers PUT /groups/{id}/members.json as groups_controller.rb does and lists
what it added; the test then delivers the `user_added_to_group` webhook Discourse sends.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from plugin.storage.models import Pair
from tests.domain.flow_support import deliver, ready_pair, say, thread_of
from tests.helpers import work

MENTORS_ID, MAYA_ID = 43, 42


def complete(config, sessions, client, fake, cli, pid: str):
    """Sam and Maya's pairing runs all its steps and completes; the time it did."""
    ready_pair(config, sessions, client, fake, cli, pid)
    with sessions() as session:
        paired_at = session.execute(select(Pair.paired_at)).scalar_one()
    done = paired_at + timedelta(days=8, seconds=1)
    work(config, sessions, done)
    assert cli("status", "--program", pid)["pairs"][0]["state"] == "completed"
    return done


def maya_alone(fake) -> list[str]:
    """Every post of the private messages between Maya and the bot alone."""
    return [
        post
        for pm in fake.private_messages()
        if sorted(pm["participants"]) == ["maya", "mentor_bot"]
        for post in pm["posts"]
    ]


def to_alice(fake) -> list[str]:
    return [
        post
        for pm in fake.private_messages()
        if sorted(pm["participants"]) == ["alice", "mentor_bot"]
        for post in pm["posts"]
    ]


def test_the_closing_message_offers_bang_graduate(config, sessions, client, fake, cli, story):
    complete(config, sessions, client, fake, cli, str(story["id"]))
    closing = thread_of(fake, "sam", "maya")["posts"][-1]
    assert "`!graduate`" in closing and "**mentors**" in closing


def test_graduate_adds_the_mentee_to_the_mentor_group_and_the_sign_up_follows(
    config, sessions, client, fake, cli, story
):
    done = complete(config, sessions, client, fake, cli, str(story["id"]))
    say(client, fake, "maya", "!graduate")
    work(config, sessions, done)
    assert fake.group_additions == [(MENTORS_ID, MAYA_ID)]
    assert "mentors" in thread_of(fake, "sam", "maya")["posts"][-1]  # the answer

    # What Discourse then sends, as tests/domain/flow_support.join does.
    added = {"id": 1, "group_id": MENTORS_ID, "user_id": MAYA_ID, "notification_level": 3}
    added["created_at"] = "2026-03-01T09:00:00.123Z"
    deliver(client, "group_user__user_added_to_group", {"group_user": added})
    work(config, sessions, done)
    signups = cli("status", "--program", str(story["id"]))["signups"]
    roles = {(s["user"], s["role"]) for s in signups}
    assert ("maya", "mentor") in roles
    assert any("as a mentor" in post for post in maya_alone(fake))
    assert to_alice(fake) == []  # nothing for the admins to do
    fake.assert_valid()


def test_graduate_from_the_mentor_is_explained_and_adds_nobody(
    config, sessions, client, fake, cli, story
):
    done = complete(config, sessions, client, fake, cli, str(story["id"]))
    say(client, fake, "sam", "!graduate")
    work(config, sessions, done)
    assert fake.group_additions == []
    assert "is for the mentee of a pairing" in thread_of(fake, "sam", "maya")["posts"][-1]


def test_graduate_while_the_pairing_runs_is_explained_and_adds_nobody(
    config, sessions, client, fake, cli, story
):
    ready_pair(config, sessions, client, fake, cli, str(story["id"]))
    say(client, fake, "maya", "!graduate")
    work(config, sessions)
    assert fake.group_additions == []
    assert "is for the mentee of a pairing" in thread_of(fake, "sam", "maya")["posts"][-1]


def test_a_refused_bot_asks_the_admins_naming_member_and_group_and_tells_the_member(
    config, sessions, client, fake, cli, story
):
    done = complete(config, sessions, client, fake, cli, str(story["id"]))
    # A group the bot neither owns nor administers: groups_controller.rb answers 403.
    forbidden = {"errors": ["You are not permitted to view the requested resource."]}
    fake.fail_next("PUT", r"/groups/43/members\.json", 403, body=forbidden)
    say(client, fake, "maya", "!graduate")
    work(config, sessions, done)
    assert fake.group_additions == [] and MAYA_ID not in fake.groups[MENTORS_ID].members
    [asked] = to_alice(fake)
    assert "@maya" in asked and "**mentors**" in asked
    assert any("asked the admins" in post for post in maya_alone(fake))


def test_a_member_already_in_the_group_is_told_so(config, sessions, client, fake, cli, story):
    done = complete(config, sessions, client, fake, cli, str(story["id"]))
    fake.add_member("mentors", "maya")  # e.g. joined through the forum, webhook not yet in
    say(client, fake, "maya", "!graduate")
    work(config, sessions, done)
    assert any("already in the **mentors** group" in post for post in maya_alone(fake))
    assert to_alice(fake) == []


def test_a_call_the_forum_never_takes_also_asks_the_admins(
    config, sessions, client, fake, cli, story
):
    done = complete(config, sessions, client, fake, cli, str(story["id"]))
    # e.g. the username changed meanwhile: "nobody found" is 400, and retrying will not help.
    fake.fail_next("PUT", r"/groups/43/members\.json", 400, body={"errors": ["invalid usernames"]})
    say(client, fake, "maya", "!graduate")
    work(config, sessions, done)
    [asked] = to_alice(fake)
    assert "@maya" in asked and "**mentors**" in asked
    assert any("asked the admins" in post for post in maya_alone(fake))
