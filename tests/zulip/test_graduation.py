"""`!graduate` on Zulip: refused for bots before 12.0 (the admins are asked), allowed after.

The fake Zulip answers POST /user_groups/{id}/members as zerver/views/user_groups.py does:
"This endpoint does not accept bot requests." up to 11.x; from 12.0 the group's own setting
decides. An addition sends `add_members` on the event queue, which the worker reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plugin.storage.models import Pair
from tests.helpers import daytime_zone, work
from tests.zulip.support import BOT, MAYA, SAM, deliver, pair_sam_and_maya

ALICE = "alice@example.com"


def complete(config, sessions, zulip, client, cli, pid: str) -> datetime:
    """Sam and Maya's pairing runs all its steps and completes; the time it did."""
    zone = daytime_zone(datetime.now(UTC) + timedelta(days=1))
    pair_sam_and_maya(config, sessions, client, zulip, cli, pid, ("UTC", zone))
    with sessions() as session:
        paired_at = session.execute(select(Pair.paired_at)).scalar_one()
    done = paired_at + timedelta(days=8, seconds=1)
    work(config, sessions, done)
    assert cli("status", "--program", pid)["pairs"][0]["state"] == "completed"
    return done


def graduate(config, sessions, zulip, client, done: datetime, text: str = "!graduate") -> None:
    deliver(client, zulip.dm(MAYA, [SAM, BOT], text))
    work(config, sessions, done)
    work(config, sessions, done)  # what the forum's answer queued


def test_before_12_0_the_admins_are_asked_naming_member_and_group_and_the_member_told(
    config, sessions, client, zulip, cli, zulip_story
):
    done = complete(config, sessions, zulip, client, cli, str(zulip_story["id"]))
    graduate(config, sessions, zulip, client, done)
    assert zulip.user(MAYA).user_id not in zulip.group("mentors").members
    [asked] = zulip.texts(ALICE)
    assert "@**Maya Lee|42**" in asked and "**mentors**" in asked
    assert "asked the admins" in zulip.texts(MAYA)[-1]
    zulip.assert_valid()


def test_from_12_0_a_group_that_leaves_the_bot_out_still_asks_the_admins(
    config, sessions, client, zulip, cli, zulip_story
):
    zulip.bots_manage_groups = True  # the group's can_add_members_group lacks the bot
    done = complete(config, sessions, zulip, client, cli, str(zulip_story["id"]))
    graduate(config, sessions, zulip, client, done)
    assert zulip.user(MAYA).user_id not in zulip.group("mentors").members
    [asked] = zulip.texts(ALICE)
    assert "**mentors**" in asked


def test_where_the_bot_may_add_members_the_mentee_joins_and_the_mentor_sign_up_follows(
    config, sessions, client, zulip, cli, zulip_story
):
    zulip.bots_manage_groups = True
    zulip.group("mentors").bot_may_add = True
    pid = str(zulip_story["id"])
    done = complete(config, sessions, zulip, client, cli, pid)
    graduate(config, sessions, zulip, client, done)
    assert zulip.user(MAYA).user_id in zulip.group("mentors").members
    roles = {(s["user"], s["role"]) for s in cli("status", "--program", pid)["signups"]}
    assert (MAYA, "mentor") in roles
    assert "as a mentor" in zulip.texts(MAYA)[-1]
    assert zulip.texts(ALICE) == []
    zulip.assert_valid()


def test_graduate_without_the_bang_in_a_dm_to_the_bot_works_too(
    config, sessions, client, zulip, cli, zulip_story
):
    zulip.bots_manage_groups = True
    zulip.group("mentors").bot_may_add = True
    done = complete(config, sessions, zulip, client, cli, str(zulip_story["id"]))
    deliver(client, zulip.dm(MAYA, [BOT], "graduate"))
    work(config, sessions, done)
    assert zulip.user(MAYA).user_id in zulip.group("mentors").members


def test_graduate_from_the_mentor_is_explained_and_adds_nobody(
    config, sessions, client, zulip, cli, zulip_story
):
    zulip.bots_manage_groups = True
    zulip.group("mentors").bot_may_add = True
    done = complete(config, sessions, zulip, client, cli, str(zulip_story["id"]))
    deliver(client, zulip.dm(SAM, [MAYA, BOT], "!graduate"))
    work(config, sessions, done)
    assert "is for the mentee of a pairing" in zulip.texts(SAM, MAYA)[-1]
    assert zulip.texts(ALICE) == []
