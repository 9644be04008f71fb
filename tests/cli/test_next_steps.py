"""Text output says what to do next; --json documents stay as the contract says."""

from __future__ import annotations

import argparse

from plugin.cli.programs import _match_next
from plugin.storage.db import get_engine, session_factory, transaction
from plugin.storage.models import Member, Signup
from tests.cli.support import create


def opened(run_cli) -> str:
    pid = str(create(run_cli, "--json").doc()["id"])
    result = run_cli("program", "open", pid)
    assert result.code == 0, result.err
    return pid


def proposal(mentor: str, mentee: str) -> dict:
    return {"mentor": mentor, "mentee": mentee, "score": 0.5, "reasons": []}


def ready(db_url: str, fake, program_id: int) -> None:
    """sam (mentor) and maya (mentee) signed up and ready, as the sign-up form leaves them."""
    with transaction(session_factory(get_engine(db_url))) as session:
        for name, role in (("sam", "mentor"), ("maya", "mentee")):
            uid = fake.user(name).id
            member = Member(forum_id=1, forum_user_id=uid, username=name, name=name)
            session.add(member)
            session.flush()
            session.add(
                Signup(
                    program_id=program_id,
                    member_id=member.id,
                    role=role,
                    state="ready",
                    about="hi",
                    topics="python",
                    timezone="UTC",
                    age_confirmed=True,
                    capacity=1,
                    link_version=1,
                )
            )


def test_match_proposals_in_text_end_with_how_to_apply_them(run_cli, live, fake, db_url):
    pid = opened(run_cli)
    ready(db_url, fake, int(pid))
    lines = run_cli("match", "--program", pid).out.splitlines()
    assert lines[0].startswith("sam + maya")
    assert lines[-1].startswith(f"run `mentorship match --program {pid} --apply`")


def test_pair_says_the_worker_posts_the_introduction(run_cli, live, fake, db_url):
    pid = opened(run_cli)
    ready(db_url, fake, int(pid))
    result = run_cli("pair", "--program", pid, "--mentor", "sam", "--mentee", "maya")
    assert result.code == 0, result.err
    assert "the worker posts the introduction on its next pass" in result.out


def test_program_open_says_how_many_members_it_invited(run_cli, live, fake):
    fake.add_member("mentors", "sam")
    fake.add_member("mentees", "maya")
    fake.add_member("mentees", "alice")
    pid = str(create(run_cli, "--json").doc()["id"])
    text = run_cli("program", "open", pid).out
    assert f"program {pid} is open; invited 1 mentor and 2 mentees" in text
    assert "mentorship worker --once" in text


def test_program_open_signs_up_the_groups_members_at_once(run_cli, live, fake):
    fake.add_member("mentors", "sam")
    pid = str(create(run_cli, "--json").doc()["id"])
    run_cli("program", "open", pid)
    signups = run_cli("status", "--program", pid, "--json").doc()["signups"]
    assert [(s["user"], s["state"]) for s in signups] == [("sam", "pending")]


def test_program_open_still_opens_when_the_forum_does_not_list_its_groups(run_cli, live, fake):
    pid = str(create(run_cli, "--json").doc()["id"])
    fake.fail_next("GET", r"/groups/.*/members", 503, times=10)
    result = run_cli("program", "open", pid)
    assert result.code == 0, result.err
    assert "the forum did not list its groups now" in result.out
    assert "the worker invites their members on its next pass" in result.out


def test_program_open_json_stays_the_program_document(run_cli, live):
    pid = str(create(run_cli, "--json").doc()["id"])
    doc = run_cli("program", "open", pid, "--json").doc()
    assert doc["state"] == "open" and "next" not in doc


def test_match_with_nobody_waiting_says_why(run_cli, live):
    pid = opened(run_cli)
    text = run_cli("match", "--program", pid).out
    assert text == "nobody can be paired right now: no mentee is waiting for a mentor\n"


def test_match_with_nobody_waiting_json_is_the_contracts_document(run_cli, live):
    pid = opened(run_cli)
    assert run_cli("match", "--program", pid, "--json").doc() == {"pairs": [], "unmatched": []}


def test_match_proposals_end_with_how_to_apply_them_or_pair_by_hand():
    args = argparse.Namespace(program=3, apply=False)
    text = _match_next(args, {"pairs": [proposal("sam", "maya")], "unmatched": []})
    assert "`mentorship match --program 3 --apply`" in text and "`mentorship pair" in text


def test_match_with_mentees_no_mentor_fits_names_them():
    args = argparse.Namespace(program=3, apply=False)
    text = _match_next(args, {"pairs": [], "unmatched": ["maya", "lee"]})
    assert "no mentor with room left fits maya, lee" in text


def test_match_apply_says_the_worker_posts_the_introductions():
    args = argparse.Namespace(program=3, apply=True)
    text = _match_next(args, {"pairs": [proposal("sam", "maya")], "unmatched": []})
    assert text.startswith("1 pair created;") and "mentorship worker --once" in text


def test_program_create_says_how_to_open_it(run_cli, live):
    text = create(run_cli).out
    assert "created as a draft" in text and "`mentorship program open 1`" in text


def test_match_apply_says_who_still_waits_will_hear_so(run_cli, live, fake, db_url):
    pid = opened(run_cli)
    ready(db_url, fake, int(pid))
    with transaction(session_factory(get_engine(db_url))) as session:
        member = Member(forum_id=1, forum_user_id=fake.user("alice").id, username="alice")
        session.add(member)
        session.flush()
        session.add(
            Signup(
                program_id=int(pid),
                member_id=member.id,
                role="mentee",
                state="ready",
                topics="python",
                timezone="UTC",
                age_confirmed=True,
            )
        )
    lines = run_cli("match", "--program", pid, "--apply").out.splitlines()
    assert lines[-1].startswith("1 member still waiting will hear so privately on its next pass")
