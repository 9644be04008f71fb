"""plugin/domain/directory.py: who a self-service mentee may ask, and their one open request."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from plugin.domain.directory import RequestRefused, mentors_for, open_request
from plugin.domain.expertise import to_record
from plugin.domain.messages import render
from plugin.engine.adapter import Expertise
from plugin.storage.db import transaction
from plugin.storage.expertise import MemberExpertise
from plugin.storage.models import Member, OutboxMessage, Signup
from plugin.storage.requests import MentorRequest
from tests.domain.directory_support import T0, pair, self_service_program
from tests.helpers import assert_no_text, work
from tests.web.admin.support import add_signup


@pytest.fixture
def program(sessions, forum) -> int:
    return self_service_program(sessions, forum.id)


@pytest.fixture
def mentee(sessions, program) -> int:
    return add_signup(
        sessions,
        program,
        "maya",
        "mentee",
        about="Switching careers from teaching",
        timezone="Europe/Berlin",
    )


def listed(sessions, mentee_id: int, topic: str = "") -> list[str]:
    with transaction(sessions) as db:
        return [c.username for c in mentors_for(db, db.get(Signup, mentee_id), topic)]


def ask(sessions, mentee_id: int, who: str, message: str = "", now=T0) -> MentorRequest:
    with transaction(sessions) as db:
        request = open_request(db, db.get(Signup, mentee_id), who, message, now)
        db.expunge(request)
        return request


def refusal(sessions, mentee_id: int, who: str, message: str = "") -> RequestRefused:
    with pytest.raises(RequestRefused) as refused:
        ask(sessions, mentee_id, who, message)
    return refused.value


def requests(sessions) -> list[tuple[str, str]]:
    """(mentor's username, state) of every request."""
    with transaction(sessions) as db:
        rows = db.execute(select(MentorRequest).order_by(MentorRequest.id)).scalars()
        return [(r.mentor.member.username, r.state) for r in rows]


def mentor_messages(sessions) -> list[dict]:
    """The queued messages to mentors, rendered as they will be sent (links as placeholders)."""
    with transaction(sessions) as db:
        rows = db.execute(select(OutboxMessage).where(OutboxMessage.key.like("member:%:request:%")))
        payloads = [json.loads(row.payload) for row in rows.scalars()]
    links = {"link": "", "accept_link": "ACCEPT", "decline_link": "DECLINE"}
    return [
        {**p, "text": render(p["template"], p["language"], **p["args"], **links).text}
        for p in payloads
    ]


# -- the listing ------------------------------------------------------------------------


def test_the_directory_lists_ready_mentors_with_their_answers(sessions, program, mentee):
    add_signup(
        sessions,
        program,
        "sam",
        "mentor",
        about="Ten years in data",
        topics="python, sql",
        timezone="Europe/Berlin",
    )
    with transaction(sessions) as db:
        [card] = mentors_for(db, db.get(Signup, mentee))
    assert (card.username, card.name, card.about) == ("sam", "Sam", "Ten years in data")
    assert (card.topics, card.timezone, card.room) == ("python, sql", "Europe/Berlin", 1)


def test_a_card_shows_what_the_forum_knows_of_the_mentor(sessions, program, mentee):
    add_signup(sessions, program, "sam", "mentor")
    with transaction(sessions) as db:
        member = db.execute(select(Member).where(Member.username == "sam")).scalar_one()
        record = to_record(Expertise((("Algebra", 23), ("Meta", 2)), 40, 7))
        db.add(MemberExpertise(member_id=member.id, record=record, fetched_at=T0, due_at=T0))
    with transaction(sessions) as db:
        [card] = mentors_for(db, db.get(Signup, mentee))
    assert card.expertise == "23 posts in Algebra, 7 accepted answers"


def test_a_card_has_no_forum_expertise_until_the_forum_offers_some(sessions, program, mentee):
    add_signup(sessions, program, "sam", "mentor")
    with transaction(sessions) as db:
        [card] = mentors_for(db, db.get(Signup, mentee))
    assert card.expertise is None


def test_a_paired_mentor_with_a_place_left_is_listed_with_the_places_left(
    sessions, program, mentee
):
    sam = add_signup(sessions, program, "sam", "mentor", capacity=3, state="paired")
    pair(sessions, sam, add_signup(sessions, program, "noah", "mentee", state="paired"))
    with transaction(sessions) as db:
        [card] = mentors_for(db, db.get(Signup, mentee))
    assert card.room == 2


def test_a_mentor_whose_places_are_all_taken_is_not_listed(sessions, program, mentee):
    sam = add_signup(sessions, program, "sam", "mentor", capacity=1, state="paired")
    pair(sessions, sam, add_signup(sessions, program, "noah", "mentee", state="paired"))
    assert listed(sessions, mentee) == []


def test_mentors_not_ready_and_mentees_are_not_listed(sessions, program, mentee):
    add_signup(sessions, program, "lee", "mentor", state="pending")
    add_signup(sessions, program, "kim", "mentor", state="withdrawn")
    add_signup(sessions, program, "noah", "mentee")
    assert listed(sessions, mentee) == []


def test_the_topic_filter_keeps_mentors_whose_topics_contain_the_word_in_any_case(
    sessions, program, mentee
):
    add_signup(sessions, program, "sam", "mentor", topics="Python, careers")
    add_signup(sessions, program, "ana", "mentor", topics="public speaking")
    assert listed(sessions, mentee, "PYTH") == ["sam"]
    assert listed(sessions, mentee, "  ") == ["ana", "sam"]


def test_a_mentor_from_a_blocked_pairing_is_never_listed(sessions, program, mentee):
    sam = add_signup(sessions, program, "sam", "mentor", capacity=2)
    pair(sessions, sam, mentee, state="ended", end_reason="blocked")
    assert listed(sessions, mentee) == []


def test_a_block_with_the_roles_the_other_way_round_also_hides_the_mentor(
    sessions, forum, program, mentee
):
    other = self_service_program(sessions, forum.id)
    maya_mentors = add_signup(sessions, other, "maya", "mentor")
    sam_was_mentee = add_signup(sessions, other, "sam", "mentee")
    pair(sessions, maya_mentors, sam_was_mentee, state="ended", end_reason="blocked")
    add_signup(sessions, program, "sam", "mentor")
    assert listed(sessions, mentee) == []


def test_a_mentor_the_mentee_was_paired_with_before_in_the_program_is_not_listed(
    sessions, program, mentee
):
    sam = add_signup(sessions, program, "sam", "mentor", capacity=2)
    pair(sessions, sam, mentee, state="ended", end_reason="ended")
    assert listed(sessions, mentee) == []


def test_a_program_that_is_not_self_service_lists_nobody(sessions, forum):
    program = self_service_program(sessions, forum.id, self_service=False)
    add_signup(sessions, program, "sam", "mentor")
    assert listed(sessions, add_signup(sessions, program, "maya", "mentee")) == []


# -- the request --------------------------------------------------------------------------


def test_a_request_is_open_for_seven_days_from_the_given_time(sessions, program, mentee):
    sam = add_signup(sessions, program, "sam", "mentor")
    request = ask(sessions, mentee, "SAM")
    assert (request.mentor_id, request.mentee_id, request.state) == (sam, mentee, "open")
    assert request.expires_at.replace(tzinfo=T0.tzinfo) == T0 + timedelta(days=7)


def test_a_second_request_while_one_is_open_is_refused_with_409(sessions, program, mentee):
    add_signup(sessions, program, "sam", "mentor")
    add_signup(sessions, program, "ana", "mentor")
    ask(sessions, mentee, "sam")
    assert refusal(sessions, mentee, "ana").status == 409
    assert requests(sessions) == [("sam", "open")]


def test_the_database_itself_holds_one_open_request_per_mentee(sessions, program, mentee):
    add_signup(sessions, program, "sam", "mentor")
    ana = add_signup(sessions, program, "ana", "mentor")
    ask(sessions, mentee, "sam")
    with pytest.raises(IntegrityError), transaction(sessions) as db:
        db.add(MentorRequest(program_id=program, mentee_id=mentee, mentor_id=ana, expires_at=T0))
        db.flush()
    assert requests(sessions) == [("sam", "open")]


def test_a_mentee_may_ask_again_once_their_request_is_no_longer_open(sessions, program, mentee):
    add_signup(sessions, program, "sam", "mentor")
    add_signup(sessions, program, "ana", "mentor")
    first = ask(sessions, mentee, "sam")
    with transaction(sessions) as db:
        db.get(MentorRequest, first.id).state = "declined"
    assert ask(sessions, mentee, "ana").state == "open"


def test_a_request_to_a_full_mentor_is_refused_and_nothing_is_stored(sessions, program, mentee):
    sam = add_signup(sessions, program, "sam", "mentor", capacity=1, state="paired")
    pair(sessions, sam, add_signup(sessions, program, "noah", "mentee", state="paired"))
    refused = refusal(sessions, mentee, "sam")
    assert (refused.reason, refused.status) == ("full", 409)
    assert requests(sessions) == [] and mentor_messages(sessions) == []


def test_a_request_to_a_mentor_the_directory_hides_is_refused_as_unlisted(
    sessions, program, mentee
):
    sam = add_signup(sessions, program, "sam", "mentor", capacity=2)
    pair(sessions, sam, mentee, state="ended", end_reason="blocked")
    refused = refusal(sessions, mentee, "sam")
    assert (refused.reason, refused.status) == ("unlisted", 404)
    assert requests(sessions) == []


def test_a_request_to_someone_who_is_no_mentor_here_is_refused(sessions, program, mentee):
    add_signup(sessions, program, "noah", "mentee")
    assert refusal(sessions, mentee, "noah").reason == "unlisted"


def test_a_paired_mentee_cannot_ask(sessions, program):
    add_signup(sessions, program, "sam", "mentor")
    paired = add_signup(sessions, program, "maya", "mentee", state="paired")
    assert refusal(sessions, paired, "sam").reason == "closed"


def test_a_message_over_the_limit_is_refused(sessions, program, mentee):
    add_signup(sessions, program, "sam", "mentor")
    assert refusal(sessions, mentee, "sam", "x" * 1001).status == 400


def test_the_mentor_is_told_who_asks_their_answers_their_words_and_how_to_answer(
    sessions, program, mentee
):
    add_signup(sessions, program, "sam", "mentor")
    ask(sessions, mentee, "sam", "Could you help me with interviews?")
    [message] = mentor_messages(sessions)
    assert message["usernames"] == ["sam"]
    for part in (
        "@maya",
        "> Switching careers from teaching",
        "python, careers",
        "Europe/Berlin",
        "> Could you help me with interviews?",
        "`!accept maya`",
        "`!decline maya`",
        "7 days",
        "[accept](ACCEPT)",
        "[decline](DECLINE)",
    ):
        assert part in message["text"]


def test_a_german_mentor_is_asked_in_german(sessions, program, mentee):
    add_signup(sessions, program, "sam", "mentor", locale="de")
    ask(sessions, mentee, "sam")
    [message] = mentor_messages(sessions)
    assert "möchte dich" in message["text"] and "(Keine Nachricht.)" in message["text"]


def test_the_mentees_message_is_kept_nowhere_once_the_mentor_was_told(
    config, sessions, fake, live_forum
):
    program = self_service_program(sessions, live_forum.id)
    for name in ("sam", "maya"):
        if fake.user_named(name) is None:
            fake.add_user(name)
    add_signup(sessions, program, "sam", "mentor")
    maya = add_signup(sessions, program, "maya", "mentee")
    ask(sessions, maya, "sam", "A secret wish: negotiating my salary")
    work(config, sessions)
    [pm] = [p for p in fake.private_messages() if "sam" in p["participants"]]
    assert "negotiating my salary" in pm["posts"][0]
    assert_no_text(sessions, "negotiating my salary")
