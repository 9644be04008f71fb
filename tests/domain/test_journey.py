"""The pair's journey: commands, nudges, safety, completion and erasure (issue 4)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin.storage.models import Feedback, Member, Pair
from tests.domain.flow_support import (
    admin_pms,
    awake,
    deliver,
    join,
    posts,
    ready_pair,
    say,
    thread_of,
)
from tests.helpers import assert_no_text, pm_post, work

STEP = re.compile(r"^\*\*Step (\d) of 8", re.M)


@pytest.fixture
def paired(config, sessions, client, fake, cli, story):
    ready_pair(config, sessions, client, fake, cli, str(story["id"]))
    with sessions() as session:
        pair = session.execute(select(Pair)).scalar_one()
    return pair


def steps_in(texts: list[str]) -> list[str]:
    return [m for t in texts for m in STEP.findall(t)]


def status(cli, story) -> dict:
    return cli("status", "--program", str(story["id"]))


def test_help_is_answered_in_the_thread(config, sessions, client, fake, paired):
    say(client, fake, "maya", "!help")
    work(config, sessions)
    assert "`!pause`" in posts(fake)[-1] and "`!block`" in posts(fake)[-1]


def test_unknown_command_gets_the_help_text(config, sessions, client, fake, paired):
    say(client, fake, "maya", "!dance")
    work(config, sessions)
    assert "**Commands**" in posts(fake)[-1]


def test_command_from_someone_outside_the_pair_is_ignored(config, sessions, client, fake, paired):
    fake.add_user("zoe")
    before = len(posts(fake))
    say(client, fake, "zoe", "!end")
    work(config, sessions)
    assert len(posts(fake)) == before
    assert fake.private_messages()  # and nothing else changed:
    with sessions() as session:
        assert session.execute(select(Pair.state)).scalar_one() == "active"


def test_a_repeated_delivery_of_a_command_is_answered_once(config, sessions, client, fake, paired):
    topic = thread_of(fake, "sam", "maya")["topic_id"]
    body = pm_post(777, topic_id=topic, user_id=fake.user("maya").id, username="maya", raw="!help")
    deliver(client, "post__post_created", body)
    deliver(client, "post__post_created", body)
    work(config, sessions)
    assert sum(p.startswith("**Commands**") for p in posts(fake)) == 1


def test_done_says_when_the_next_step_comes(config, sessions, client, fake, paired):
    say(client, fake, "maya", "!done")
    work(config, sessions)
    assert "step 1 is marked done" in posts(fake)[-1] and "Step 2 comes on" in posts(fake)[-1]


def test_pause_holds_steps_and_nudges_then_ends_by_itself(config, sessions, client, fake, paired):
    say(client, fake, "sam", "!pause 1")
    work(config, sessions)
    assert "Paused until" in posts(fake)[-1]
    before = len(posts(fake))
    work(config, sessions, paired.paired_at + timedelta(days=6))
    assert len(posts(fake)) == before  # a week's pause: no steps, no nudges
    work(config, sessions, paired.paired_at + timedelta(days=7, hours=1))
    new = posts(fake)[before:]
    assert "Your pause has ended" in new[0]


def test_a_pause_shifts_the_schedule(config, sessions, client, fake, paired, cli, story):
    say(client, fake, "sam", "!pause 1")
    work(config, sessions)
    work(config, sessions, paired.paired_at + timedelta(days=7, hours=1))  # pause ends
    before = len(posts(fake))
    # Without the pause step 2 fell due at +1 day; now it is due at +8 days.
    work(config, sessions, paired.paired_at + timedelta(days=7, hours=12))
    assert steps_in(posts(fake)[before:]) == []
    work(config, sessions, paired.paired_at + timedelta(days=8, hours=2))
    assert steps_in(posts(fake)[before:]) == ["2"]


def test_resume_ends_a_pause_early(config, sessions, client, fake, paired, cli, story):
    say(client, fake, "sam", "!pause")
    say(client, fake, "maya", "!resume")
    work(config, sessions)
    assert "Welcome back" in posts(fake)[-1]
    assert status(cli, story)["pairs"][0]["state"] == "active"


def test_end_requeues_both_and_the_partner_first(
    config, sessions, client, fake, paired, cli, story
):
    say(client, fake, "sam", "!end")
    work(config, sessions)
    assert "@sam has ended this pairing" in posts(fake)[-1]
    doc = status(cli, story)
    assert doc["pairs"][0]["state"] == "ended"
    assert {s["user"]: s["state"] for s in doc["signups"]} == {"sam": "ready", "maya": "ready"}
    with sessions() as session:
        from plugin.storage.models import Signup

        priority = dict(session.execute(select(Signup.role, Signup.priority)).all())
    assert priority == {"mentor": False, "mentee": True}


def test_report_reaches_the_admins_and_never_the_conversation(
    config, sessions, client, fake, paired, cli, story
):
    say(client, fake, "maya", "our private chat about confidential-mango things")
    say(client, fake, "maya", "!report he asked for my home address")
    work(config, sessions)
    [report] = [p for p in admin_pms(fake) if "report" in p["title"].lower()]
    assert sorted(report["participants"]) == ["alice", "mentor_bot"]
    assert "he asked for my home address" in report["posts"][0]
    assert "@maya" in report["posts"][0] and "confidential-mango" not in report["posts"][0]
    [ack] = [p for p in fake.private_messages() if p["title"] == "Your report was sent"]
    assert sorted(ack["participants"]) == ["maya", "mentor_bot"]
    assert status(cli, story)["reports"] == 1


def test_block_ends_the_pair_and_prevents_any_later_proposal(
    config, sessions, client, fake, paired, cli, story
):
    say(client, fake, "maya", "!block")
    work(config, sessions)
    assert status(cli, story)["pairs"][0]["state"] == "ended"
    assert any("blocked" in p["title"].lower() for p in admin_pms(fake))
    proposals = cli("match", "--program", str(story["id"]))
    assert proposals["pairs"] == [] and proposals["unmatched"] == ["maya"]


def test_a_nudge_falls_due_after_a_silent_cadence_once(config, sessions, client, fake, paired):
    say(client, fake, "maya", "hi", at=paired.paired_at.isoformat())
    work(config, sessions)
    before = len(posts(fake))
    at = paired.paired_at + timedelta(hours=12)
    work(config, sessions, at)
    assert len(posts(fake)) == before  # not silent long enough
    work(config, sessions, paired.paired_at + timedelta(days=1, hours=1))  # step 2, no nudge
    at = awake(sessions, paired.paired_at + timedelta(days=1, hours=12, minutes=1))
    work(config, sessions, at)
    new = posts(fake)[before:]
    nudges = [p for p in new if not STEP.search(p)]
    assert len(nudges) == 1 and "@maya" in nudges[0]
    work(config, sessions, at + timedelta(hours=6))
    assert [p for p in posts(fake)[before:] if not STEP.search(p)] == nudges  # one per cadence


def test_nudges_stop_once_the_pair_talks_again(config, sessions, client, fake, paired, cli, story):
    work(config, sessions, paired.paired_at + timedelta(days=1, hours=1))
    work(config, sessions, awake(sessions, paired.paired_at + timedelta(days=1, hours=12)))
    assert status(cli, story)["pairs"][0]["nudges"] == 1
    say(
        client,
        fake,
        "sam",
        "sorry, busy week",
        at=(paired.paired_at + timedelta(days=1, hours=2)).isoformat(),
    )
    work(config, sessions, paired.paired_at + timedelta(days=1, hours=3))
    work(config, sessions, paired.paired_at + timedelta(days=2, hours=1))
    assert status(cli, story)["pairs"][0]["nudges"] == 1


def test_three_silent_cadences_tell_the_admins_once(config, sessions, client, fake, paired):
    for hours in (25, 49, 73, 80, 97):
        work(config, sessions, paired.paired_at + timedelta(hours=hours))
    checkins = [p for p in admin_pms(fake) if "check-in" in p["title"]]
    assert len(checkins) == 1 and "pair " in checkins[0]["posts"][0]


def rate(client, link: str, rating: str, comment: str = "") -> str:
    """Open a rating page and save a rating through it; the saved page's text."""
    page = client.get(link)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    saved = client.post(link, data={"rating": rating, "comment": comment, "csrf_token": token})
    assert saved.status_code == 200
    return saved.get_data(as_text=True)


def rating_link(fake, username: str) -> str:
    """The feedback link in the member's own private rating message."""
    [pm] = [
        p
        for p in fake.private_messages()
        if p["title"].startswith("How was")
        and sorted(p["participants"]) == sorted([username, "mentor_bot"])
    ]
    [link] = re.findall(r"http://127\.0\.0\.1:8000(/feedback/\S+)", "\n".join(pm["posts"]))
    return link


def test_the_checkin_names_the_pair_once(config, sessions, client, fake, paired):
    work(config, sessions, paired.paired_at + timedelta(hours=73))
    [checkin] = [p for p in admin_pms(fake) if "check-in" in p["title"]]
    text = checkin["posts"][0]
    assert "pair pair" not in text.lower()
    assert f"(pair {paired.id}: mentor @sam, mentee @maya) has been silent for 3.0 days" in text


def test_completion_thanks_both_and_asks_for_a_rating(
    config, sessions, client, fake, paired, cli, story
):
    work(config, sessions, paired.paired_at + timedelta(days=8, seconds=1))
    closing = posts(fake)[-1]
    assert "last step" in closing and "`!graduate`" in closing and "**mentors**" in closing
    assert "Thank you" in rate(client, rating_link(fake, "maya"), "5", "thank you")
    assert status(cli, story)["pairs"][0]["state"] == "completed"


def test_rating_links_are_sent_privately_never_in_the_pair_thread(
    config, sessions, client, fake, paired, cli, story
):
    work(config, sessions, paired.paired_at + timedelta(days=8, seconds=1))
    assert not any("/feedback/" in text for text in posts(fake))
    rate(client, rating_link(fake, "sam"), "4")
    rate(client, rating_link(fake, "maya"), "2")
    with sessions() as session:
        rows = session.execute(select(Feedback)).scalars().all()
        by_user = {session.get(Member, r.member_id).username: r.rating for r in rows}
    assert by_user == {"sam": 4, "maya": 2}


def test_status_shows_each_sides_rating(config, sessions, client, fake, paired, cli, story):
    work(config, sessions, paired.paired_at + timedelta(days=8, seconds=1))
    assert status(cli, story)["pairs"][0]["feedback"] == {"mentor": None, "mentee": None}
    rate(client, rating_link(fake, "maya"), "5")
    assert status(cli, story)["pairs"][0]["feedback"] == {"mentor": None, "mentee": 5}


def test_a_completed_pairs_mentee_shows_as_completed(
    config, sessions, client, fake, paired, cli, story
):
    work(config, sessions, paired.paired_at + timedelta(days=8, seconds=1))
    states = {s["user"]: s["state"] for s in status(cli, story)["signups"]}
    assert states == {"sam": "ready", "maya": "completed"}


def test_a_command_in_a_message_to_the_bot_applies_to_the_only_pair(
    config, sessions, client, fake, paired, cli, story
):
    link_pm = thread_of(fake, "maya")
    say(client, fake, "maya", "!pause", topic_id=link_pm["topic_id"])
    work(config, sessions)
    assert status(cli, story)["pairs"][0]["state"] == "paused"


def test_leaving_the_group_ends_the_pair_and_tells_the_partner(
    config, sessions, client, fake, paired, cli, story
):
    fake.remove_member("mentors", "sam")
    deliver(
        client,
        "group_user__user_removed_from_group",
        {
            "group_user": {
                "id": 1,
                "group_id": 43,
                "user_id": fake.user("sam").id,
                "notification_level": 3,
                "created_at": "2026-03-01T09:00:00.123Z",
            }
        },
    )
    work(config, sessions)
    assert "@maya, your partner has left the program" in posts(fake)[-1]
    doc = status(cli, story)
    assert {s["user"]: s["state"] for s in doc["signups"]} == {"sam": "withdrawn", "maya": "ready"}


def _destroy(client, fake, username: str) -> None:
    user = fake.user(username)
    body = {
        "user": {
            "id": user.id,
            "username": username,
            "email": f"{username}@example.com",
            "name": "Maya Lee",
        }
    }
    deliver(client, "user__user_destroyed", body)


def test_erasure_leaves_no_username_or_profile_in_the_database(
    config, sessions, client, fake, paired, cli, story
):
    _destroy(client, fake, "maya")
    work(config, sessions)
    for needle in ("maya", "Maya Lee", "maya@example.com", "Switching careers from teaching"):
        assert_no_text(sessions, needle)
    doc = status(cli, story)
    assert doc["pairs"][0]["state"] == "ended"
    assert "your partner has left" in posts(fake)[-1]


def test_erasure_leaves_nothing_in_the_sqlite_files(config, sessions, client, fake, paired):
    if not config.is_sqlite:
        pytest.skip("file check is for SQLite")
    _destroy(client, fake, "maya")
    work(config, sessions)
    path = Path(config.database_url.removeprefix("sqlite:///"))
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    for needle in (b"maya", b"Maya Lee", b"maya@example.com", b"Switching careers from teaching"):
        assert needle not in data, needle


def test_a_replayed_signup_after_erasure_does_not_bring_the_member_back(
    config, sessions, client, fake, paired, cli, story
):
    _destroy(client, fake, "maya")
    work(config, sessions)
    join(client, fake, "mentees", 44, "maya")
    work(config, sessions)
    users = [s["user"] for s in status(cli, story)["signups"]]
    assert "maya" not in users


def test_a_step_and_a_nudge_never_come_at_once(config, sessions, client, fake, paired):
    before = len(posts(fake))
    work(config, sessions, paired.paired_at + timedelta(days=1, minutes=1))
    work(config, sessions, paired.paired_at + timedelta(days=1, minutes=2))
    new = posts(fake)[before:]
    assert steps_in(new) == ["2"] and len(new) == 1  # step 2, and no nudge with it


def test_a_nudge_held_back_by_a_step_comes_half_a_cadence_later(
    config, sessions, client, fake, paired, cli, story
):
    work(config, sessions, paired.paired_at + timedelta(days=1, minutes=1))  # step 2 only
    work(config, sessions, paired.paired_at + timedelta(hours=35, minutes=59))
    assert status(cli, story)["pairs"][0]["nudges"] == 0
    with sessions() as session:
        pair = session.get(Pair, paired.id)
        assert pair is not None and pair.next_due_at is not None
        back = pair.next_due_at.replace(tzinfo=paired.paired_at.tzinfo)
    # The scheduler comes back for the nudge half a cadence after the step: delayed, not lost.
    assert back <= awake(sessions, paired.paired_at + timedelta(hours=36))
    work(config, sessions, awake(sessions, paired.paired_at + timedelta(hours=36, minutes=1)))
    assert status(cli, story)["pairs"][0]["nudges"] == 1
    nudges = [p for p in posts(fake) if not STEP.search(p)]
    assert nudges and "@maya" in nudges[-1]


def test_a_silent_journey_never_brings_a_step_and_a_nudge_in_one_pass(
    config, sessions, client, fake, paired
):
    seen = len(posts(fake))
    for day in range(1, 8):  # each step's minute, with a second pass in the next one
        for minute in (1, 2):
            work(config, sessions, paired.paired_at + timedelta(days=day, minutes=minute))
        new = posts(fake)[seen:]
        seen += len(new)
        assert steps_in(new) == [str(day + 1)] and len(new) == 1, day
