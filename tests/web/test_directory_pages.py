"""GET/POST /directory/<token>: a self-service mentee's directory and request (issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.domain.directory import MentorCard
from plugin.domain.signups import directory_token
from plugin.storage.db import transaction
from plugin.storage.models import Signup
from plugin.storage.requests import MentorRequest
from tests.domain.directory_support import pair, self_service_program
from tests.helpers import hidden_inputs
from tests.web.admin.support import add_signup
from tests.web.test_security_pages import HOSTILE_TOKENS, ODD_FORM_BODIES


@pytest.fixture
def program(sessions, forum) -> int:
    return self_service_program(sessions, forum.id)


def path_of(config, sessions, signup_id: int, query: str = "") -> str:
    with transaction(sessions) as db:
        return f"/directory/{directory_token(config.secret_key, db.get(Signup, signup_id))}{query}"


@pytest.fixture
def page(config, sessions, program) -> str:
    """The path of maya's directory."""
    return path_of(config, sessions, add_signup(sessions, program, "maya", "mentee"))


def text(response) -> str:
    return response.get_data(as_text=True)


def ask(client, path: str, mentor: str, message: str = ""):
    """Send the request form as a browser would, with the page's CSRF token."""
    form = hidden_inputs(text(client.get(path)))
    return client.post(path, data={**form, "mentor": mentor, "message": message})


def stored(sessions) -> list[int]:
    with transaction(sessions) as db:
        return list(db.execute(select(MentorRequest.mentor_id)).scalars())


def test_the_page_lists_a_mentors_name_answers_topics_and_time_zone(
    client, sessions, program, page
):
    add_signup(
        sessions,
        program,
        "sam",
        "mentor",
        about="I review code",
        topics="python, sql",
        timezone="Europe/Berlin",
    )
    body = text(client.get(page))
    for part in ("Sam", "I review code", "python, sql", "Europe/Berlin", 'value="sam"'):
        assert part in body


def test_the_topic_filter_keeps_matching_mentors_only(client, config, sessions, program):
    maya = add_signup(sessions, program, "maya", "mentee")
    add_signup(sessions, program, "sam", "mentor", topics="Python")
    add_signup(sessions, program, "ana", "mentor", topics="public speaking")
    body = text(client.get(path_of(config, sessions, maya, "?topic=python")))
    assert 'value="sam"' in body and 'value="ana"' not in body


def test_the_page_is_sent_with_the_protective_headers(client, page):
    headers = client.get(page).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"


def test_the_page_is_in_the_mentees_own_language(client, config, sessions, program):
    maya = add_signup(sessions, program, "maya", "mentee", locale="de")
    body = text(client.get(path_of(config, sessions, maya)))
    assert '<html lang="de">' in body and "Mentor:in wählen" in body


def test_a_forged_link_is_404_and_says_how_to_get_a_fresh_one(client):
    response = client.get("/directory/not-a-token")
    assert response.status_code == 404 and "!directory" in text(response)


def test_a_mentors_card_shows_the_forums_record_of_their_help_when_there_is_one(
    client, page, monkeypatch
):
    card = MentorCard("sam", "Sam", "About", "algebra", "UTC", 1, "23 posts in Algebra")
    monkeypatch.setattr("plugin.web.directory_pages.mentors_for", lambda *a: [card])
    assert "23 posts in Algebra" in text(client.get(page))


def test_sending_the_form_opens_the_request_and_says_who_it_went_to(
    client, sessions, program, page
):
    sam = add_signup(sessions, program, "sam", "mentor")
    response = ask(client, page, "sam", "Hello!")
    assert response.status_code == 200 and "Your request went to Sam" in text(response)
    assert stored(sessions) == [sam]


def test_a_second_request_while_one_is_open_is_409_with_a_page_saying_so(
    client, sessions, program, page
):
    sam = add_signup(sessions, program, "sam", "mentor")
    add_signup(sessions, program, "ana", "mentor")
    ask(client, page, "sam")
    response = client.post(page, data={**hidden_inputs(text(client.get(page))), "mentor": "ana"})
    assert response.status_code == 409
    assert "already have an open request" in text(response)
    assert "Your request to Sam is waiting" in text(response)
    assert stored(sessions) == [sam]


def test_asking_a_mentor_with_no_place_left_is_409_and_stores_nothing(
    client, sessions, program, page
):
    sam = add_signup(sessions, program, "sam", "mentor", capacity=1)
    form = hidden_inputs(text(client.get(page)))  # sam was listed when maya opened the page
    pair(sessions, sam, add_signup(sessions, program, "noah", "mentee", state="paired"))
    response = client.post(page, data={**form, "mentor": "sam"})
    assert response.status_code == 409 and "no place left" in text(response)
    assert stored(sessions) == []


def test_asking_a_mentor_not_in_the_directory_is_404_and_stores_nothing(
    client, config, sessions, program
):
    maya = add_signup(sessions, program, "maya", "mentee")
    sam = add_signup(sessions, program, "sam", "mentor", capacity=2)
    path = path_of(config, sessions, maya)
    form = hidden_inputs(text(client.get(path)))
    pair(sessions, sam, maya, state="ended", end_reason="blocked")
    response = client.post(path, data={**form, "mentor": "sam"})
    assert response.status_code == 404 and "not in your directory" in text(response)
    assert stored(sessions) == []


def test_a_form_without_its_csrf_token_is_400_and_stores_nothing(client, sessions, program, page):
    add_signup(sessions, program, "sam", "mentor")
    response = client.post(page, data={"mentor": "sam"})
    assert response.status_code == 400 and stored(sessions) == []


def test_a_form_without_a_chosen_mentor_is_400(client, sessions, program, page):
    add_signup(sessions, program, "sam", "mentor")
    response = ask(client, page, "")
    assert response.status_code == 400 and "Please choose a mentor" in text(response)


def test_an_over_long_message_is_400_and_kept_in_the_form(client, sessions, program, page):
    add_signup(sessions, program, "sam", "mentor")
    response = ask(client, page, "sam", "x" * 1001)
    assert response.status_code == 400 and "x" * 1001 in text(response)
    assert stored(sessions) == []


@pytest.mark.parametrize("token", HOSTILE_TOKENS.values(), ids=HOSTILE_TOKENS.keys())
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_hostile_token_gets_the_link_invalid_page(client, token, method):
    response = client.open(f"/directory/{token}", method=method, data={"mentor": "sam"})
    assert response.status_code == 404
    assert "This link no longer works" in text(response)


@pytest.mark.parametrize("body, content_type", ODD_FORM_BODIES.values(), ids=ODD_FORM_BODIES.keys())
def test_an_oddly_encoded_request_form_is_400_and_stores_nothing(
    client, sessions, program, page, body, content_type
):
    add_signup(sessions, program, "sam", "mentor")
    response = client.post(page, data=body, content_type=content_type)
    assert response.status_code == 400 and stored(sessions) == []
