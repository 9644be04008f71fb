"""A self-service request after it is made: the mentor accepts or declines, or it expires."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.domain import requests
from plugin.domain.erasure import erase_member
from plugin.storage.db import transaction
from plugin.storage.models import Pair
from plugin.storage.requests import MentorRequest
from tests.domain.flow_support import deliver, fill_form, join, say, thread_of
from tests.helpers import pm_post, work
from tests.requests_support import ask, make_self_service, state_of
from tests.web.admin.support import add_signup

_post_ids = iter(range(40_000, 50_000))


@pytest.fixture
def program(config, sessions, client, fake, cli, story) -> int:
    """A self-service program: sam mentors one mentee at a time; maya and zoe are waiting."""
    pid = story["id"]
    make_self_service(sessions, pid)
    fake.add_user("zoe", id=47, name="Zoe Park")
    for group, group_id, user in (("mentors", 43, "sam"), ("mentees", 44, "maya")):
        join(client, fake, group, group_id, user)
    join(client, fake, "mentees", 44, "zoe")
    work(config, sessions)
    fill_form(client, thread_of(fake, "sam")["posts"][0], timezone="UTC", capacity="1")
    for mentee in ("maya", "zoe"):
        fill_form(client, thread_of(fake, mentee)["posts"][0], timezone="UTC")
    return pid


def message_bot(config, sessions, client, fake, username: str, text: str) -> str:
    """`username` writes `text` in their private message with the bot; the bot's answer."""
    topic = thread_of(fake, username)
    deliver(
        client,
        "post__post_created",
        pm_post(
            next(_post_ids),
            topic_id=topic["topic_id"],
            user_id=fake.user(username).id,
            username=username,
            raw=text,
        ),
    )
    work(config, sessions)
    return thread_of(fake, username)["posts"][-1]


def private_messages_to(fake, username: str) -> list[str]:
    """The first posts of every private message between the bot and `username` alone."""
    wanted = sorted([username, "mentor_bot"])
    return [p["posts"][0] for p in fake.private_messages() if sorted(p["participants"]) == wanted]


def pairs_of(cli, pid: int) -> list[tuple[str, str]]:
    return [(p["mentor"], p["mentee"]) for p in cli("status", "--program", str(pid))["pairs"]]


def test_accept_pairs_the_two_as_pair_does(config, sessions, client, fake, cli, program):
    req = ask(sessions, program, "maya", "sam")
    answer = message_bot(config, sessions, client, fake, "sam", "!accept maya")
    assert "You accepted Maya Lee's request" in answer
    assert pairs_of(cli, program) == [("sam", "maya")]
    assert state_of(sessions, req) == "accepted"
    assert "Ten years in data engineering" in thread_of(fake, "sam", "maya")["posts"][0]


def test_pairing_a_mentee_by_hand_closes_their_open_request(sessions, cli, program):
    to_sam = ask(sessions, program, "maya", "sam")
    cli("pair", "--program", str(program), "--mentor", "sam", "--mentee", "maya")
    assert state_of(sessions, to_sam) == "accepted"


def test_pairing_a_mentee_with_another_mentor_closes_their_request_unanswered(
    sessions, cli, program
):
    to_sam = ask(sessions, program, "maya", "sam")
    add_signup(sessions, program, "ana", "mentor")
    cli("pair", "--program", str(program), "--mentor", "ana", "--mentee", "maya")
    assert state_of(sessions, to_sam) == "declined"


def test_accept_when_the_places_filled_meanwhile_keeps_the_request_open(
    config, sessions, client, fake, cli, program
):
    req = ask(sessions, program, "maya", "sam")
    cli("pair", "--program", str(program), "--mentor", "sam", "--mentee", "zoe")
    answer = message_bot(config, sessions, client, fake, "sam", "!accept maya")
    assert "Your places in" in answer and "all taken" in answer
    assert state_of(sessions, req) == "open"
    assert pairs_of(cli, program) == [("sam", "zoe")]


def test_two_acceptances_for_the_last_place_at_once_pair_only_one(sessions, program):
    first, second = ask(sessions, program, "maya", "sam"), ask(sessions, program, "zoe", "sam")
    start = threading.Barrier(2)
    outcomes: list[requests.Outcome] = []

    def accept(request_id: int) -> None:
        start.wait()
        with transaction(sessions) as session:
            req = session.get_one(MentorRequest, request_id)
            outcomes.append(requests.accept(session, req, datetime.now(UTC)))

    threads = [threading.Thread(target=accept, args=(r,)) for r in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == sorted([requests.Outcome.ACCEPTED, requests.Outcome.FULL])
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(Pair)).scalar_one() == 1
    assert sorted(state_of(sessions, r) for r in (first, second)) == ["accepted", "open"]


def test_decline_tells_the_mentee_kindly_and_frees_them_to_ask_again(
    config, sessions, client, fake, program
):
    req = ask(sessions, program, "maya", "sam")
    answer = message_bot(config, sessions, client, fake, "sam", "!decline maya")
    assert "You declined Maya Lee's request" in answer
    assert state_of(sessions, req) == "declined"
    told = private_messages_to(fake, "maya")[-1]
    assert "Sam Rivera cannot take on a mentee" in told and "ask another mentor" in told
    ask(sessions, program, "maya", "sam")  # one open request again: the old one is closed


def test_an_unanswered_request_expires_after_seven_days_on_the_logical_clock(
    config, sessions, fake, program
):
    asked = datetime(2030, 1, 1, 9, tzinfo=UTC)
    req = ask(sessions, program, "maya", "sam", at=asked)
    work(config, sessions, asked + timedelta(days=6, hours=23))
    assert state_of(sessions, req) == "open"
    work(config, sessions, asked + timedelta(days=7, minutes=1))
    assert state_of(sessions, req) == "expired"
    told = private_messages_to(fake, "maya")[-1]
    assert "has not answered your request" in told and "free to ask again" in told


def test_accepting_a_request_past_its_seven_days_expires_it_instead(
    config, sessions, client, fake, cli, program
):
    req = ask(sessions, program, "maya", "sam", at=datetime.now(UTC) - timedelta(days=8))
    answer = message_bot(config, sessions, client, fake, "sam", "!accept maya")
    assert "is no longer open" in answer
    assert state_of(sessions, req) == "expired" and pairs_of(cli, program) == []


def test_expiry_tells_the_mentee_once(config, sessions, fake, program):
    asked = datetime(2030, 1, 1, 9, tzinfo=UTC)
    ask(sessions, program, "maya", "sam", at=asked)
    work(config, sessions, asked + timedelta(days=8))
    work(config, sessions, asked + timedelta(days=9))
    assert sum("has not answered" in p for p in private_messages_to(fake, "maya")) == 1


def test_accept_without_an_open_request_from_that_member_says_so(
    config, sessions, client, fake, program
):
    answer = message_bot(config, sessions, client, fake, "sam", "!accept zoe")
    assert "There is no open request from **zoe** to you" in answer


def test_accept_without_a_name_asks_for_one(config, sessions, client, fake, program):
    answer = message_bot(config, sessions, client, fake, "sam", "!accept")
    assert "`!accept USERNAME`" in answer


def test_accept_refuses_two_members_one_of_whom_blocked_the_other(
    config, sessions, client, fake, cli, program
):
    cli("pair", "--program", str(program), "--mentor", "sam", "--mentee", "maya")
    work(config, sessions)
    say(client, fake, "maya", "!block")
    work(config, sessions)
    req = ask(sessions, program, "maya", "sam")
    answer = message_bot(config, sessions, client, fake, "sam", "!accept maya")
    assert "cannot be paired" in answer
    assert state_of(sessions, req) == "declined"
    assert len(pairs_of(cli, program)) == 1  # the blocked pairing alone


def test_the_german_word_accepts_too(config, sessions, client, fake, cli, program):
    ask(sessions, program, "maya", "sam")
    message_bot(config, sessions, client, fake, "sam", "!annehmen maya")
    assert pairs_of(cli, program) == [("sam", "maya")]


def test_erasing_the_mentor_closes_the_request_and_tells_the_mentee_without_naming_them(
    config, sessions, fake, live_forum, program
):
    req = ask(sessions, program, "maya", "sam")
    with transaction(sessions) as session:
        erase_member(session, live_forum.id, fake.user("sam").id, datetime.now(UTC))
    work(config, sessions)
    assert state_of(sessions, req) == "declined"
    told = private_messages_to(fake, "maya")[-1]
    assert "no longer taking part" in told and "Sam" not in told


def test_erasing_the_mentee_closes_their_request_and_tells_no_one(
    config, sessions, fake, live_forum, program
):
    req = ask(sessions, program, "maya", "sam")
    work(config, sessions)  # what was already queued (directory links) goes out first
    before = len(fake.private_messages())
    with transaction(sessions) as session:
        erase_member(session, live_forum.id, fake.user("maya").id, datetime.now(UTC))
    work(config, sessions)
    assert state_of(sessions, req) == "declined"
    assert len(fake.private_messages()) == before
