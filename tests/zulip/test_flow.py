"""The whole program story on Zulip (issue 5): the Discourse story, with Zulip-shaped traffic.

Members join user groups (the worker reads the event queue), get their links as direct
messages, are paired in a group DM, write there (outgoing-webhook requests carrying the
token), and get their steps on schedule. Every API call is answered by the fake Zulip,
which validates it against zulip.yaml.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.storage.models import Pair
from tests.helpers import LINK, assert_no_text, daytime_zone, submit_signup, work
from tests.zulip.support import BOT, MAYA, SAM, deliver


def fill_form(client, dm_text: str, *, timezone: str, capacity: str | None = None) -> None:
    submit_signup(client, LINK.search(dm_text).group(1), timezone=timezone, capacity=capacity)


def test_the_whole_program_story_on_zulip(config, sessions, client, zulip, cli, zulip_story):
    pid = str(zulip_story["id"])
    assert zulip_story["state"] == "draft" and zulip_story["steps"] == 8

    zulip.add_member("mentors", SAM)  # events on the queue, read by the worker
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    [sam_link], [maya_link] = zulip.texts(SAM), zulip.texts(MAYA)
    assert "18 or older" in maya_link

    start = datetime.now(UTC)
    fill_form(client, sam_link, timezone="Europe/Berlin", capacity="2")
    fill_form(client, maya_link, timezone=daytime_zone(start + timedelta(days=1)))
    states = {s["user"]: s["state"] for s in cli("status", "--program", pid)["signups"]}
    assert states == {SAM: "ready", MAYA: "ready"}

    cli("pair", "--program", pid, "--mentor", SAM, "--mentee", MAYA)
    work(config, sessions)
    [intro] = zulip.texts(SAM, MAYA)  # one group DM: Sam, Maya and the bot, nobody else
    assert "Step 1 of 8" in intro and "keep no record of what you write" in intro

    # Maya writes in the group DM: who and when are kept, the words are not.
    at = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
    words = "my secret plan involves a purple-elephant"
    deliver(client, zulip.dm(MAYA, [SAM, BOT], words, at=int(at.timestamp())))
    work(config, sessions)
    [pair] = cli("status", "--program", pid)["pairs"]
    assert pair["last_activity_at"].startswith("2030-01-01T10:00:00")
    assert pair["step"] == 1 and pair["thread"] == "41,42"

    with sessions() as session:
        paired_at = session.execute(select(Pair.paired_at)).scalar_one()
    for step in (2, 3):
        before = len(zulip.texts(SAM, MAYA))
        work(config, sessions, paired_at + timedelta(days=step - 1, seconds=-1))
        assert len(zulip.texts(SAM, MAYA)) == before  # not due yet
        work(config, sessions, paired_at + timedelta(days=step - 1, seconds=1))
        posts = zulip.texts(SAM, MAYA)
        assert len(posts) == before + 1 and f"Step {step} of 8" in posts[-1]
    assert cli("status", "--program", pid)["pairs"][0]["step"] == 3
    assert_no_text(sessions, "purple-elephant")
    assert zulip.long_polls == 0  # `worker --once` never blocked on the event queue


def test_the_program_admins_default_to_the_organisations_administrators(cli, zulip_story):
    program = cli("status", "--program", str(zulip_story["id"]))["program"]
    assert program["admins"] == ["alice@example.com"]  # not the bot, not members


def test_members_already_in_the_groups_are_signed_up_when_it_opens(config, sessions, zulip, cli):
    zulip.add_member("mentees", MAYA)
    cli(
        "forum", "add", "--kind", "zulip", "--name", "zulip", "--url", zulip.url,
        "--bot-email", BOT, "--api-key", "test-key", "--webhook-token", zulip.webhook_token,
    )  # fmt: skip
    program = cli(
        "program", "create", "--forum", "zulip", "--group", "community", "--template", "skills",
        "--mentor-group", "mentors", "--mentee-group", "mentees",
    )  # fmt: skip
    work(config, sessions)
    assert zulip.texts(MAYA) == []  # a draft takes no sign-ups
    cli("program", "open", str(program["id"]))
    work(config, sessions)
    assert len(zulip.texts(MAYA)) == 1
    signups = cli("status", "--program", str(program["id"]))["signups"]
    assert [(s["user"], s["state"]) for s in signups] == [(MAYA, "pending")]


def test_leaving_the_group_withdraws_the_signup(config, sessions, zulip, cli, zulip_story):
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    zulip.remove_member("mentees", MAYA)
    work(config, sessions)
    [signup] = cli("status", "--program", str(zulip_story["id"]))["signups"]
    assert signup["state"] == "withdrawn"


@pytest.mark.parametrize("command", ["!signup", "signup"])
def test_signup_in_a_dm_to_the_bot_sends_a_fresh_link(
    config, sessions, client, zulip, cli, zulip_story, command
):
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    deliver(client, zulip.dm(MAYA, [BOT], command))
    work(config, sessions)
    first, _, fresh = zulip.texts(MAYA)  # the link, Maya's command, the fresh link
    old, new = LINK.search(first).group(1), LINK.search(fresh).group(1)
    assert client.get(old).status_code == 404  # the fresh link replaces the old one
    assert client.get(new).status_code == 200


def test_a_plain_dm_to_the_bot_is_answered_with_the_help_and_its_text_is_not_kept(
    config, sessions, client, zulip, cli, zulip_story
):
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    deliver(client, zulip.dm(MAYA, [BOT], "hello, what can you do? I live at 5 Elm Street"))
    assert_no_text(sessions, "Elm Street")
    work(config, sessions)
    assert "!pause" in zulip.texts(MAYA)[-1]  # the help text lists the commands


def test_a_member_who_joined_while_the_queue_was_expired_still_gets_a_link(
    config, sessions, zulip, cli, zulip_story
):
    zulip.expire_queues()  # e.g. no worker ran for over 10 minutes
    zulip.add_member("mentees", MAYA)  # the add_members event reaches no queue
    work(config, sessions)
    assert len(zulip.calls("register-queue")) >= 2  # a new queue, then a reconciliation
    assert len(zulip.texts(MAYA)) == 1 and LINK.search(zulip.texts(MAYA)[0])


def test_a_429_holds_zulip_messages_until_retry_after(config, sessions, zulip, cli, zulip_story):
    zulip.add_member("mentees", MAYA)
    zulip.fail_next("POST", r"/messages$", 429, headers={"Retry-After": "120"})
    t0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
    work(config, sessions, t0)
    assert zulip.texts(MAYA) == []
    work(config, sessions, t0 + timedelta(seconds=119))
    assert zulip.texts(MAYA) == []
    work(config, sessions, t0 + timedelta(seconds=121))
    assert len(zulip.texts(MAYA)) == 1


def test_a_deactivated_member_is_erased_and_their_pairing_ends(
    config, sessions, client, zulip, cli, zulip_story
):
    pid = str(zulip_story["id"])
    zulip.add_member("mentors", SAM)
    zulip.add_member("mentees", MAYA)
    work(config, sessions)
    fill_form(client, zulip.texts(SAM)[0], timezone="UTC")
    fill_form(client, zulip.texts(MAYA)[0], timezone="UTC")
    cli("pair", "--program", pid, "--mentor", SAM, "--mentee", MAYA)
    work(config, sessions)
    zulip.deactivate(MAYA)  # Zulip's deletion: realm_user update is_active false
    work(config, sessions)
    [pair] = cli("status", "--program", pid)["pairs"]
    assert pair["state"] == "ended"
    assert_no_text(sessions, MAYA)


def test_admin_in_a_dm_gives_an_administrator_a_single_use_sign_in_link(
    config, sessions, client, zulip, cli, zulip_story
):
    deliver(client, zulip.dm("alice@example.com", [BOT], "admin"))
    work(config, sessions)
    [answer] = zulip.texts("alice@example.com")[1:]
    path = re.search(r"http://127\.0\.0\.1:8000(/admin/link/\S+)", answer).group(1)
    assert client.get(path).status_code == 200


def test_admin_from_someone_who_administers_nothing_is_refused(
    config, sessions, client, zulip, cli, zulip_story
):
    deliver(client, zulip.dm(MAYA, [BOT], "!admin"))
    work(config, sessions)
    answer = zulip.texts(MAYA)[-1]
    assert "/admin/link/" not in answer and "owners and administrators" in answer
