"""A mentor's forum expertise: read within the budget, weekly at most, and what a failure keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.domain.erasure import erase_member
from plugin.domain.expertise import (
    PER_PASS,
    REFRESH_EVERY,
    RETRY_UNAVAILABLE,
    expertise_of,
    refresh_expertise,
    to_record,
)
from plugin.domain.proposals import propose
from plugin.engine.adapter import Expertise
from plugin.engine.clock import Clock
from plugin.forums.connections import adapter_factory
from plugin.storage.db import reading, transaction
from plugin.storage.expertise import MemberExpertise
from plugin.storage.models import Forum, Member, Program, Signup
from tests.domain.flow_support import fill_form, join, thread_of
from tests.helpers import LOOPBACK, work
from tests.web.admin.support import add_signup, make_program, user_id_of

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ALGEBRA = Expertise(top_categories=(("Algebra", 23),), likes_received=31, accepted_answers=7)


@pytest.fixture
def program(sessions, live_forum) -> int:
    return make_program(sessions, live_forum.id)


@pytest.fixture
def sam_knows_algebra(fake):
    fake.solved_plugin = True
    sam = fake.user("sam")
    sam.category_posts, sam.likes_received, sam.solved_count = {"Algebra": 23}, 31, 7
    return sam


def run(config, sessions, at: datetime = NOW) -> int:
    clock = Clock(at)
    adapters = adapter_factory(sessions, clock, allowed_hosts=LOOPBACK)
    return refresh_expertise(sessions, adapters, clock, config)


def summary_calls(fake) -> list[str]:
    return [r.path for r in fake.requests if r.path.endswith("/summary.json")]


def known(sessions) -> dict[str, Expertise]:
    with reading(sessions) as db:
        members = {m.id: m.username for m in db.execute(select(Member)).scalars()}
        return {members[k]: v for k, v in expertise_of(db, members).items()}


def row_of(sessions, username: str) -> MemberExpertise:
    with reading(sessions) as db:
        member = db.execute(select(Member).where(Member.username == username)).scalar_one()
        return db.get_one(MemberExpertise, member.id)


def test_a_ready_mentors_expertise_is_read_with_one_call(
    config, sessions, fake, program, sam_knows_algebra
):
    add_signup(sessions, program, "sam", "mentor")
    assert run(config, sessions) == 1
    assert summary_calls(fake) == ["/u/sam/summary.json"]
    assert known(sessions) == {"sam": ALGEBRA}


def test_mentees_and_unfinished_sign_ups_are_not_read(config, sessions, fake, program):
    add_signup(sessions, program, "maya", "mentee")
    add_signup(sessions, program, "sam", "mentor", state="pending")
    assert run(config, sessions) == 0
    assert summary_calls(fake) == []


def test_expertise_is_read_again_only_after_a_week(
    config, sessions, fake, program, sam_knows_algebra
):
    add_signup(sessions, program, "sam", "mentor")
    run(config, sessions)
    run(config, sessions, NOW + REFRESH_EVERY - timedelta(minutes=1))
    assert len(summary_calls(fake)) == 1
    sam_knows_algebra.category_posts = {"Algebra": 30}
    run(config, sessions, NOW + REFRESH_EVERY)
    assert len(summary_calls(fake)) == 2
    assert known(sessions)["sam"].top_categories == (("Algebra", 30),)


def test_one_pass_reads_a_bounded_number_of_mentors(config, sessions, fake, program):
    for i in range(PER_PASS + 2):
        fake.add_user(f"mentor{i}")
        add_signup(sessions, program, f"mentor{i}", "mentor")
    assert run(config, sessions) == PER_PASS
    assert run(config, sessions) == 2
    assert len(summary_calls(fake)) == PER_PASS + 2


def test_a_failing_summary_call_keeps_what_was_known_and_changes_nothing_else(
    config, sessions, fake, program, sam_knows_algebra
):
    signup = add_signup(sessions, program, "sam", "mentor")
    run(config, sessions)
    later = NOW + REFRESH_EVERY
    fake.fail_next("GET", r"/summary\.json$", 500)
    with reading(sessions) as db:
        before = db.get_one(Signup, signup).__dict__.copy()
    run(config, sessions, later)
    assert known(sessions) == {"sam": ALGEBRA}
    row = row_of(sessions, "sam")
    assert row.fetched_at == NOW and row.due_at == later + RETRY_UNAVAILABLE
    with reading(sessions) as db:
        after = db.get_one(Signup, signup).__dict__
        assert {k: after[k] for k in before if not k.startswith("_")} == {
            k: v for k, v in before.items() if not k.startswith("_")
        }


def test_a_first_call_that_fails_stores_no_expertise(config, sessions, fake, program):
    add_signup(sessions, program, "sam", "mentor")
    fake.fail_next("GET", r"/summary\.json$", 503)
    run(config, sessions)
    assert known(sessions) == {}
    assert row_of(sessions, "sam").fetched_at is None


def test_a_failed_call_is_retried_within_its_bound_not_every_pass(
    config, sessions, fake, program, sam_knows_algebra
):
    add_signup(sessions, program, "sam", "mentor")
    fake.fail_next("GET", r"/summary\.json$", 500)
    run(config, sessions)
    run(config, sessions, NOW + RETRY_UNAVAILABLE - timedelta(minutes=1))
    assert len(summary_calls(fake)) == 1
    run(config, sessions, NOW + RETRY_UNAVAILABLE)
    assert known(sessions) == {"sam": ALGEBRA}


def test_a_refused_call_waits_a_week(config, sessions, fake, program):
    add_signup(sessions, program, "sam", "mentor")
    fake.fail_next("GET", r"/summary\.json$", 404)
    run(config, sessions)
    assert row_of(sessions, "sam").due_at == NOW + REFRESH_EVERY


def test_a_rate_limited_call_pauses_the_forum_and_stores_nothing(
    config, sessions, fake, program, live_forum
):
    add_signup(sessions, program, "sam", "mentor")
    fake.fail_next("GET", r"/summary\.json$", 429, headers={"Retry-After": "30"})
    run(config, sessions)
    assert known(sessions) == {}
    with reading(sessions) as db:
        assert db.get_one(Forum, live_forum.id).paused_until == NOW + timedelta(seconds=30)


def test_calls_count_against_the_forums_budget(config, sessions, fake, program, live_forum):
    with transaction(sessions) as db:
        db.get_one(Forum, live_forum.id).request_budget = 2
    for name in ("ana", "ben", "cleo"):
        fake.add_user(name)
        add_signup(sessions, program, name, "mentor")
    assert run(config, sessions) == 2
    assert len(summary_calls(fake)) == 2
    assert run(config, sessions, NOW + timedelta(seconds=61)) == 1


def remember(sessions, username: str, expertise: Expertise) -> None:
    """Store a member's expertise as a read of the forum would have."""
    with transaction(sessions) as db:
        member = db.execute(select(Member).where(Member.username == username)).scalar_one()
        db.add(
            MemberExpertise(
                member_id=member.id, record=to_record(expertise), fetched_at=NOW, due_at=NOW
            )
        )


def test_stored_expertise_changes_the_proposal_and_states_why(sessions, program):
    add_signup(sessions, program, "sam", "mentor", topics="algebra")
    add_signup(sessions, program, "lee", "mentor", topics="algebra", timezone="Africa/Lagos")
    add_signup(sessions, program, "maya", "mentee", topics="algebra, careers")
    with transaction(sessions) as db:
        before = propose(db, db.get_one(Program, program))
    remember(sessions, "lee", ALGEBRA)  # lee is an hour away (Lagos has no DST) but active
    with transaction(sessions) as db:
        after = propose(db, db.get_one(Program, program))
    assert [p["mentor"] for p in before["pairs"]] == ["sam"]
    [pair] = after["pairs"]
    assert pair["mentor"] == "lee" and "forum activity in Algebra" in pair["reasons"]


def test_erasing_a_member_forgets_their_expertise(sessions, program, live_forum):
    add_signup(sessions, program, "sam", "mentor")
    remember(sessions, "sam", ALGEBRA)
    with transaction(sessions) as db:
        erase_member(db, live_forum.id, user_id_of("sam"), NOW)
    with reading(sessions) as db:
        assert db.execute(select(MemberExpertise)).first() is None


def test_the_worker_reads_a_mentors_expertise_once_their_sign_up_completes(
    config, sessions, client, fake, story, sam_knows_algebra
):
    join(client, fake, "mentors", 43, "sam")
    work(config, sessions)
    assert summary_calls(fake) == []  # the sign-up is not complete yet
    fill_form(client, thread_of(fake, "sam")["posts"][0], timezone="UTC")
    work(config, sessions)
    work(config, sessions)
    assert summary_calls(fake) == ["/u/sam/summary.json"]
    assert known(sessions) == {"sam": ALGEBRA}
