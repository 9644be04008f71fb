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
from sqlalchemy import select, text

from plugin.engine.clock import Clock
from plugin.forums.tables import METADATA
from plugin.storage.models import Pair
from plugin.worker import Worker
from tests.fakes.zulip import FakeZulip
from tests.fakes.zulip_state import ADMIN
from tests.helpers import daytime_zone, submit_signup

LINK = re.compile(r"http://127\.0\.0\.1:8000(/signup/[A-Za-z0-9_.\-]+)")
BOT = "mentor-bot@zulip.example.com"
SAM, MAYA = "sam@example.com", "maya@example.com"


@pytest.fixture
def fake():
    fake = FakeZulip(api_key="test-key", bot_email=BOT)
    fake.add_user("alice@example.com", id=5, full_name="Alice Admin", role=ADMIN)
    fake.add_user(SAM, id=41, full_name="Sam Rivera")
    fake.add_user(MAYA, id=42, full_name="Maya Lee")
    fake.add_group("community", id=40, members=[SAM, MAYA, "alice@example.com"])
    fake.add_group("mentors", id=43)
    fake.add_group("mentees", id=44)
    with fake.serve():
        yield fake
    fake.assert_valid()


def work(config, sessions, at: datetime | None = None) -> None:
    Worker(config, sessions, Clock(at)).run_once()


def deliver(client, payload: dict | None) -> None:
    assert payload is not None, "Zulip sends nothing for this message"
    response = client.post("/webhooks/zulip/zulip", json=payload)
    assert response.status_code == 200 and response.get_json() == {"response_not_required": True}


def fill_form(client, dm_text: str, *, timezone: str, capacity: str | None = None) -> None:
    submit_signup(client, LINK.search(dm_text).group(1), timezone=timezone, capacity=capacity)


@pytest.fixture
def story(config, sessions, fake, cli):
    forum = cli(
        "forum", "add", "--kind", "zulip", "--name", "zulip", "--url", fake.url,
        "--bot-email", BOT, "--api-key", "test-key", "--webhook-token", fake.webhook_token,
    )  # fmt: skip
    assert forum["webhook_url"] == "http://127.0.0.1:8000/webhooks/zulip/zulip"
    program = cli(
        "program", "create", "--forum", "zulip", "--group", "community", "--template", "career",
        "--mentor-group", "mentors", "--mentee-group", "mentees", "--cadence-days", "1",
    )  # fmt: skip
    cli("program", "open", str(program["id"]))
    work(config, sessions)  # registers the event queue
    return program


def test_the_whole_program_story_on_zulip(config, sessions, client, fake, cli, story):
    pid = str(story["id"])
    assert story["state"] == "draft" and story["steps"] == 8

    fake.add_member("mentors", SAM)  # events on the queue, read by the worker
    fake.add_member("mentees", MAYA)
    work(config, sessions)
    [sam_link], [maya_link] = fake.texts(SAM), fake.texts(MAYA)
    assert "18 or older" in maya_link

    start = datetime.now(UTC)
    fill_form(client, sam_link, timezone="Europe/Berlin", capacity="2")
    fill_form(client, maya_link, timezone=daytime_zone(start + timedelta(days=1)))
    states = {s["user"]: s["state"] for s in cli("status", "--program", pid)["signups"]}
    assert states == {SAM: "ready", MAYA: "ready"}

    cli("pair", "--program", pid, "--mentor", SAM, "--mentee", MAYA)
    work(config, sessions)
    [intro] = fake.texts(SAM, MAYA)  # one group DM: Sam, Maya and the bot, nobody else
    assert "Step 1 of 8" in intro and "keep no record of what you write" in intro

    # Maya writes in the group DM: who and when are kept, the words are not.
    at = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
    words = "my secret plan involves a purple-elephant"
    deliver(client, fake.dm(MAYA, [SAM, BOT], words, at=int(at.timestamp())))
    work(config, sessions)
    [pair] = cli("status", "--program", pid)["pairs"]
    assert pair["last_activity_at"].startswith("2030-01-01T10:00:00")
    assert pair["step"] == 1 and pair["thread"] == "41,42"

    with sessions() as session:
        paired_at = session.execute(select(Pair.paired_at)).scalar_one()
    for step in (2, 3):
        before = len(fake.texts(SAM, MAYA))
        work(config, sessions, paired_at + timedelta(days=step - 1, seconds=-1))
        assert len(fake.texts(SAM, MAYA)) == before  # not due yet
        work(config, sessions, paired_at + timedelta(days=step - 1, seconds=1))
        posts = fake.texts(SAM, MAYA)
        assert len(posts) == before + 1 and f"Step {step} of 8" in posts[-1]
    assert cli("status", "--program", pid)["pairs"][0]["step"] == 3
    assert_no_text(sessions, "purple-elephant")
    assert fake.long_polls == 0  # `worker --once` never blocked on the event queue


def assert_no_text(sessions, needle: str) -> None:
    with sessions() as session:
        for table in METADATA.sorted_tables:
            for row in session.execute(text(f"SELECT * FROM {table.name}")):
                assert needle not in repr(tuple(row)), table.name


def test_the_program_admins_default_to_the_organisations_administrators(cli, story):
    program = cli("status", "--program", str(story["id"]))["program"]
    assert program["admins"] == ["alice@example.com"]  # not the bot, not members


def test_members_already_in_the_groups_are_signed_up_when_it_opens(config, sessions, fake, cli):
    fake.add_member("mentees", MAYA)
    cli(
        "forum", "add", "--kind", "zulip", "--name", "zulip", "--url", fake.url,
        "--bot-email", BOT, "--api-key", "test-key", "--webhook-token", fake.webhook_token,
    )  # fmt: skip
    program = cli(
        "program", "create", "--forum", "zulip", "--group", "community", "--template", "skills",
        "--mentor-group", "mentors", "--mentee-group", "mentees",
    )  # fmt: skip
    work(config, sessions)
    assert fake.texts(MAYA) == []  # a draft takes no sign-ups
    cli("program", "open", str(program["id"]))
    work(config, sessions)
    assert len(fake.texts(MAYA)) == 1
    signups = cli("status", "--program", str(program["id"]))["signups"]
    assert [(s["user"], s["state"]) for s in signups] == [(MAYA, "pending")]


def test_leaving_the_group_withdraws_the_signup(config, sessions, fake, cli, story):
    fake.add_member("mentees", MAYA)
    work(config, sessions)
    fake.remove_member("mentees", MAYA)
    work(config, sessions)
    [signup] = cli("status", "--program", str(story["id"]))["signups"]
    assert signup["state"] == "withdrawn"


@pytest.mark.parametrize("command", ["!signup", "signup"])
def test_signup_in_a_dm_to_the_bot_sends_a_fresh_link(
    config, sessions, client, fake, cli, story, command
):
    fake.add_member("mentees", MAYA)
    work(config, sessions)
    deliver(client, fake.dm(MAYA, [BOT], command))
    work(config, sessions)
    first, _, fresh = fake.texts(MAYA)  # the link, Maya's command, the fresh link
    old, new = LINK.search(first).group(1), LINK.search(fresh).group(1)
    assert client.get(old).status_code == 404  # the fresh link replaces the old one
    assert client.get(new).status_code == 200


def test_a_plain_dm_to_the_bot_is_answered_with_the_help_and_its_text_is_not_kept(
    config, sessions, client, fake, cli, story
):
    fake.add_member("mentees", MAYA)
    work(config, sessions)
    deliver(client, fake.dm(MAYA, [BOT], "hello, what can you do? I live at 5 Elm Street"))
    assert_no_text(sessions, "Elm Street")
    work(config, sessions)
    assert "!pause" in fake.texts(MAYA)[-1]  # the help text lists the commands


def test_a_member_who_joined_while_the_queue_was_expired_still_gets_a_link(
    config, sessions, fake, cli, story
):
    fake.expire_queues()  # e.g. no worker ran for over 10 minutes
    fake.add_member("mentees", MAYA)  # the add_members event reaches no queue
    work(config, sessions)
    assert len(fake.calls("register-queue")) >= 2  # a new queue, then a reconciliation
    assert len(fake.texts(MAYA)) == 1 and LINK.search(fake.texts(MAYA)[0])


def test_a_429_holds_zulip_messages_until_retry_after(config, sessions, fake, cli, story):
    fake.add_member("mentees", MAYA)
    fake.fail_next("POST", r"/messages$", 429, headers={"Retry-After": "120"})
    t0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
    work(config, sessions, t0)
    assert fake.texts(MAYA) == []
    work(config, sessions, t0 + timedelta(seconds=119))
    assert fake.texts(MAYA) == []
    work(config, sessions, t0 + timedelta(seconds=121))
    assert len(fake.texts(MAYA)) == 1


def test_a_deactivated_member_is_erased_and_their_pairing_ends(
    config, sessions, client, fake, cli, story
):
    pid = str(story["id"])
    fake.add_member("mentors", SAM)
    fake.add_member("mentees", MAYA)
    work(config, sessions)
    fill_form(client, fake.texts(SAM)[0], timezone="UTC")
    fill_form(client, fake.texts(MAYA)[0], timezone="UTC")
    cli("pair", "--program", pid, "--mentor", SAM, "--mentee", MAYA)
    work(config, sessions)
    fake.deactivate(MAYA)  # Zulip's deletion: realm_user update is_active false
    work(config, sessions)
    [pair] = cli("status", "--program", pid)["pairs"]
    assert pair["state"] == "ended"
    assert_no_text(sessions, MAYA)


def test_admin_in_a_dm_gives_an_administrator_a_single_use_sign_in_link(
    config, sessions, client, fake, cli, story
):
    deliver(client, fake.dm("alice@example.com", [BOT], "admin"))
    work(config, sessions)
    [answer] = fake.texts("alice@example.com")[1:]
    path = re.search(r"http://127\.0\.0\.1:8000(/admin/link/\S+)", answer).group(1)
    assert client.get(path).status_code == 200


def test_admin_from_someone_who_administers_nothing_is_refused(
    config, sessions, client, fake, cli, story
):
    deliver(client, fake.dm(MAYA, [BOT], "!admin"))
    work(config, sessions)
    answer = fake.texts(MAYA)[-1]
    assert "/admin/link/" not in answer and "owners and administrators" in answer
