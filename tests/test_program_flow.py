"""The whole program story through Discourse-shaped traffic (issue 3's end-to-end test).

Webhooks carry real headers and signatures; every API call is answered by the fake
Discourse, which validates it against openapi.json.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from plugin.engine.clock import Clock
from plugin.forums.tables import METADATA
from plugin.storage.db import transaction
from plugin.storage.models import Forum, Pair
from plugin.worker import Worker
from tests.fakes.discourse import FakeDiscourse
from tests.helpers import daytime_zone, discourse_request, pm_post, submit_signup

LINK = re.compile(r"http://127\.0\.0\.1:8000(/signup/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def fake():
    fake = FakeDiscourse(api_key="test-key", bot_username="mentor_bot")
    fake.add_user("alice", id=5, name="Alice Admin", admin=True)
    fake.add_user("sam", id=41, name="Sam Rivera", email="sam@example.com")
    fake.add_user("maya", id=42, name="Maya Lee", email="maya@example.com")
    fake.add_group("community", id=40, members=["sam", "maya", "alice"])
    fake.add_group("mentors", id=43)
    fake.add_group("mentees", id=44)
    with fake.serve():
        yield fake
    fake.assert_valid()


def deliver(client, name: str, body: dict) -> None:
    raw, headers = discourse_request(name, body=body)
    response = client.post("/webhooks/discourse/forum", data=raw, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def join(client, fake, group: str, group_id: int, username: str) -> None:
    fake.add_member(group, username)
    user_id = fake.user(username).id
    deliver(
        client,
        "group_user__user_added_to_group",
        {
            "group_user": {
                "id": user_id * 100 + group_id,
                "group_id": group_id,
                "user_id": user_id,
                "notification_level": 3,
                "created_at": "2026-03-01T09:00:00.123Z",
            }
        },
    )


def work(config, sessions, at: datetime | None = None) -> None:
    Worker(config, sessions, Clock(at)).run_once()


def fill_form(
    client,
    pm_text: str,
    *,
    timezone: str,
    capacity: str | None = None,
    about: str = "Ten years in data engineering",
) -> None:
    submit_signup(
        client, LINK.search(pm_text).group(1), timezone=timezone, capacity=capacity, about=about
    )


def thread_of(fake, *usernames: str) -> dict:
    wanted = sorted([*usernames, "mentor_bot"])
    [pm] = [p for p in fake.private_messages() if sorted(p["participants"]) == wanted]
    return pm


@pytest.fixture
def story(config, sessions, client, fake, cli, forum):
    with transaction(sessions) as session:
        session.get(Forum, forum.id).url = fake.url
    program = cli(
        "program",
        "create",
        "--forum",
        "forum",
        "--group",
        "community",
        "--template",
        "career",
        "--mentor-group",
        "mentors",
        "--mentee-group",
        "mentees",
        "--cadence-days",
        "1",
    )
    cli("program", "open", str(program["id"]))
    return program


def test_the_whole_program_story(config, sessions, client, fake, cli, story):
    pid = str(story["id"])
    assert story["state"] == "draft" and story["steps"] == 8

    join(client, fake, "mentors", 43, "sam")
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    sam_link, maya_link = thread_of(fake, "sam"), thread_of(fake, "maya")
    assert "18 or older" in maya_link["posts"][0]

    start = datetime.now(UTC)
    zone = daytime_zone(start + timedelta(days=1))
    fill_form(client, sam_link["posts"][0], timezone="Europe/Berlin", capacity="2")
    fill_form(client, maya_link["posts"][0], timezone=zone)
    states = {s["user"]: s["state"] for s in cli("status", "--program", pid)["signups"]}
    assert states == {"sam": "ready", "maya": "ready"}

    cli("pair", "--program", pid, "--mentor", "sam", "--mentee", "maya")
    work(config, sessions)
    pm = thread_of(fake, "sam", "maya")
    assert sorted(pm["participants"]) == ["maya", "mentor_bot", "sam"]
    assert "Step 1 of 8" in pm["posts"][0] and "@sam" in pm["posts"][0]

    # Maya writes in the thread: who and when are kept, the words are not.
    deliver(
        client,
        "post__post_created",
        pm_post(
            9001,
            topic_id=pm["topic_id"],
            user_id=42,
            username="maya",
            raw="my secret plan involves a purple-elephant",
            created_at="2030-01-01T10:00:00Z",
        ),
    )
    work(config, sessions)
    [pair] = cli("status", "--program", pid)["pairs"]
    assert pair["last_activity_at"].startswith("2030-01-01T10:00:00")
    assert pair["step"] == 1 and pair["thread"] == str(pm["topic_id"])

    with sessions() as session:
        paired_at = session.execute(select(Pair.paired_at)).scalar_one()
    for step in (2, 3):
        before = len(thread_of(fake, "sam", "maya")["posts"])
        work(
            config, sessions, paired_at + timedelta(days=step - 1, seconds=1) - timedelta(seconds=2)
        )
        assert len(thread_of(fake, "sam", "maya")["posts"]) == before  # not due yet
        work(config, sessions, paired_at + timedelta(days=step - 1, seconds=1))
        posts = thread_of(fake, "sam", "maya")["posts"]
        assert len(posts) == before + 1 and f"Step {step} of 8" in posts[-1]
    assert cli("status", "--program", pid)["pairs"][0]["step"] == 3
    assert_no_text(sessions, "purple-elephant")


def assert_no_text(sessions, needle: str) -> None:
    with sessions() as session:
        for table in METADATA.sorted_tables:
            for row in session.execute(text(f"SELECT * FROM {table.name}")):
                assert needle not in repr(tuple(row)), table.name


def test_a_service_that_was_down_posts_only_the_current_step(
    config, sessions, client, fake, cli, story
):
    pid = str(story["id"])
    ready_pair(config, sessions, client, fake, cli, pid)
    with sessions() as session:
        paired_at = session.execute(select(Pair.paired_at)).scalar_one()
    before = len(thread_of(fake, "sam", "maya")["posts"])
    work(config, sessions, paired_at + timedelta(days=4, seconds=1))
    new = thread_of(fake, "sam", "maya")["posts"][before:]
    assert [m for p in new for m in re.findall(r"^\*\*Step (\d) of 8", p, re.M)] == ["5"]


def test_pairing_completes_one_cadence_after_the_last_step(
    config, sessions, client, fake, cli, story
):
    pid = str(story["id"])
    ready_pair(config, sessions, client, fake, cli, pid)
    with sessions() as session:
        paired_at = session.execute(select(Pair.paired_at)).scalar_one()
    work(config, sessions, paired_at + timedelta(days=8, seconds=1))
    assert cli("status", "--program", pid)["pairs"][0]["state"] == "completed"


def test_steps_wait_out_the_mentees_quiet_hours(config, sessions, client, fake, cli, story):
    pid = str(story["id"])
    ready_pair(config, sessions, client, fake, cli, pid, zone_hour=23)
    with sessions() as session:
        paired_at = session.execute(select(Pair.paired_at)).scalar_one()
    due = paired_at + timedelta(days=1, seconds=1)  # 23:00 for the mentee: quiet
    before = len(thread_of(fake, "sam", "maya")["posts"])
    work(config, sessions, due)
    assert len(thread_of(fake, "sam", "maya")["posts"]) == before
    work(config, sessions, due + timedelta(hours=9))  # 08:00 for the mentee
    new = thread_of(fake, "sam", "maya")["posts"][before:]
    assert any("Step 2 of 8" in p for p in new)


def ready_pair(config, sessions, client, fake, cli, pid, zone_hour: int = 14) -> None:
    join(client, fake, "mentors", 43, "sam")
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    start = datetime.now(UTC) + timedelta(days=1)
    zone = daytime_zone(start - timedelta(hours=zone_hour - 14))
    fill_form(
        client,
        thread_of(fake, "sam")["posts"][0],
        timezone="UTC",
        about="Ten years in data engineering",
    )
    fill_form(
        client,
        thread_of(fake, "maya")["posts"][0],
        timezone=zone,
        about="Switching careers from teaching",
    )
    cli("pair", "--program", pid, "--mentor", "sam", "--mentee", "maya")
    work(config, sessions)


def test_members_already_in_the_groups_are_signed_up_when_it_opens(
    config, sessions, client, fake, cli, forum
):
    with transaction(sessions) as session:
        session.get(Forum, forum.id).url = fake.url
    fake.add_member("mentees", "maya")
    program = cli(
        "program",
        "create",
        "--forum",
        "forum",
        "--group",
        "community",
        "--template",
        "skills",
        "--mentor-group",
        "mentors",
        "--mentee-group",
        "mentees",
    )
    work(config, sessions)
    assert fake.private_messages() == []  # a draft takes no sign-ups
    cli("program", "open", str(program["id"]))
    work(config, sessions)
    assert thread_of(fake, "maya")
    states = cli("status", "--program", str(program["id"]))["signups"]
    assert [(s["user"], s["state"]) for s in states] == [("maya", "pending")]


def test_leaving_the_group_withdraws_the_signup(config, sessions, client, fake, cli, story):
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    fake.remove_member("mentees", "maya")
    deliver(
        client,
        "group_user__user_removed_from_group",
        {
            "group_user": {
                "id": 4244,
                "group_id": 44,
                "user_id": 42,
                "notification_level": 3,
                "created_at": "2026-03-01T09:00:00.123Z",
            }
        },
    )
    work(config, sessions)
    [signup] = cli("status", "--program", str(story["id"]))["signups"]
    assert signup["state"] == "withdrawn"


def message_the_bot(config, sessions, client, fake, raw: str, *, post_id: int) -> None:
    """Maya signs up, then writes `raw` in the private message the bot sent her."""
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    topic = thread_of(fake, "maya")["topic_id"]
    deliver(
        client,
        "post__post_created",
        pm_post(post_id, topic_id=topic, user_id=42, username="maya", raw=raw),
    )
    work(config, sessions)


def test_bang_signup_in_a_message_to_the_bot_sends_a_fresh_link(
    config, sessions, client, fake, cli, story
):
    message_the_bot(config, sessions, client, fake, "!signup", post_id=9100)
    # A Discourse private message may gain people at any time, so the fresh link comes in a
    # new private message to Maya alone, never as a reply where she asked.
    wanted = ["maya", "mentor_bot"]
    first, fresh = [p for p in fake.private_messages() if sorted(p["participants"]) == wanted]
    assert len(first["posts"]) == 1 and len(fresh["posts"]) == 1
    old, new = LINK.search(first["posts"][0]).group(1), LINK.search(fresh["posts"][0]).group(1)
    assert client.get(old).status_code == 404  # the fresh link replaces the old one
    assert client.get(new).status_code == 200


def test_sqlite_file_holds_no_pair_text(config, sessions, client, fake, cli, story):
    if not config.is_sqlite:
        pytest.skip("file check is for SQLite")
    pid = str(story["id"])
    ready_pair(config, sessions, client, fake, cli, pid)
    pm = thread_of(fake, "sam", "maya")
    deliver(
        client,
        "post__post_created",
        pm_post(9200, topic_id=pm["topic_id"], raw="zanzibar-kumquat confidential"),
    )
    work(config, sessions)
    path = Path(config.database_url.removeprefix("sqlite:///"))
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert b"zanzibar-kumquat" not in data


def test_match_proposes_ready_members_and_apply_pairs_them(
    config, sessions, client, fake, cli, story
):
    pid = str(story["id"])
    fake.add_user("lee", id=45, name="Lee")
    join(client, fake, "mentors", 43, "sam")
    join(client, fake, "mentees", 44, "maya")
    join(client, fake, "mentees", 44, "lee")  # never fills the form: not ready
    work(config, sessions)
    fill_form(client, thread_of(fake, "sam")["posts"][0], timezone="UTC", capacity="1")
    fill_form(client, thread_of(fake, "maya")["posts"][0], timezone="Europe/Berlin")
    proposal = cli("match", "--program", pid)
    assert [(p["mentor"], p["mentee"]) for p in proposal["pairs"]] == [("sam", "maya")]
    assert 0 <= proposal["pairs"][0]["score"] <= 1 and proposal["unmatched"] == []
    assert cli("status", "--program", pid)["pairs"] == []  # proposing changes nothing
    cli("match", "--program", pid, "--apply")
    [pair] = cli("status", "--program", pid)["pairs"]
    assert (pair["mentor"], pair["mentee"], pair["state"]) == ("sam", "maya", "active")
    assert cli("match", "--program", pid)["pairs"] == []  # the mentor is full now


def test_bang_admin_on_discourse_points_to_the_forum_sign_in(
    config, sessions, client, fake, cli, story
):
    message_the_bot(config, sessions, client, fake, "!admin", post_id=9300)
    assert "http://127.0.0.1:8000/admin/login?forum=forum" in thread_of(fake, "maya")["posts"][-1]
