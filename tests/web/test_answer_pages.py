"""GET/POST /answer/<token>: a mentor answers a request from the signed links in its message."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from plugin.domain.requests import answer_link, answer_links
from plugin.domain.signups import signup_token
from plugin.storage.db import transaction
from plugin.storage.models import Member, Pair, Signup
from plugin.storage.requests import MentorRequest
from tests.helpers import hidden_inputs
from tests.requests_support import ask, make_self_service, state_of
from tests.web.admin.support import add_signup, make_program


@pytest.fixture
def request_id(sessions, forum) -> int:
    """maya's open request to sam in a self-service program."""
    program_id = make_program(sessions, forum.id)
    make_self_service(sessions, program_id)
    add_signup(sessions, program_id, "sam", "mentor")
    add_signup(sessions, program_id, "maya", "mentee")
    return ask(sessions, program_id, "maya", "sam")


def links(config, sessions, request_id: int) -> tuple[str, str]:
    """The accept and decline links' paths."""
    with sessions() as session:
        urls = answer_links(config, session.get_one(MentorRequest, request_id))
    accept, decline = (urlsplit(u).path for u in urls)
    return accept, decline


def pair_count(sessions) -> int:
    with sessions() as session:
        return session.execute(select(func.count()).select_from(Pair)).scalar_one()


def confirm(client, path: str):
    """Open the link, then press its button as a browser would."""
    page = client.get(path)
    return client.post(path, data=hidden_inputs(page.get_data(as_text=True)))


def test_opening_the_accept_link_asks_first_and_answers_nothing(
    client, config, sessions, request_id
):
    accept, _ = links(config, sessions, request_id)
    page = client.get(accept)
    assert page.status_code == 200
    assert "Accept Maya's request?" in page.get_data(as_text=True)
    assert '<button type="submit">Accept</button>' in page.get_data(as_text=True)
    assert state_of(sessions, request_id) == "open" and pair_count(sessions) == 0


def test_the_accept_button_pairs_the_two(client, config, sessions, request_id):
    accept, _ = links(config, sessions, request_id)
    response = confirm(client, accept)
    assert response.status_code == 200 and "Request accepted" in response.get_data(as_text=True)
    assert state_of(sessions, request_id) == "accepted" and pair_count(sessions) == 1


def test_the_decline_button_declines(client, config, sessions, request_id):
    _, decline = links(config, sessions, request_id)
    response = confirm(client, decline)
    assert "Request declined" in response.get_data(as_text=True)
    assert state_of(sessions, request_id) == "declined" and pair_count(sessions) == 0


def test_a_post_without_the_pages_form_token_is_refused(client, config, sessions, request_id):
    accept, _ = links(config, sessions, request_id)
    response = client.post(accept, data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert state_of(sessions, request_id) == "open"


def test_the_accept_pages_form_token_does_not_decline(client, config, sessions, request_id):
    accept, decline = links(config, sessions, request_id)
    form = hidden_inputs(client.get(accept).get_data(as_text=True))
    assert client.post(decline, data=form).status_code == 400
    assert state_of(sessions, request_id) == "open"


def test_another_links_token_does_not_open_the_page(client, config, sessions, request_id):
    with sessions() as session:
        token = signup_token(config.secret_key, session.get_one(Signup, 1))
    assert client.get(f"/answer/{token}").status_code == 404


def test_a_link_naming_another_mentor_does_not_open_the_page(client, config, sessions, request_id):
    ref = {"request_id": request_id, "mentor_id": 999, "action": "accept"}
    path = urlsplit(answer_link(config, ref)).path
    assert client.get(path).status_code == 404


def test_a_link_of_an_answered_request_says_it_is_no_longer_open(
    client, config, sessions, request_id
):
    accept, decline = links(config, sessions, request_id)
    confirm(client, decline)
    page = client.get(accept).get_data(as_text=True)
    assert "This request is no longer open" in page and "<form" not in page


def test_the_page_is_in_the_mentors_language(client, config, sessions, request_id):
    with transaction(sessions) as session:
        session.execute(select(Member).where(Member.username == "sam")).scalar_one().locale = "de"
    accept, _ = links(config, sessions, request_id)
    page = client.get(accept).get_data(as_text=True)
    assert '<html lang="de">' in page and "Annehmen" in page


def test_the_page_is_sent_with_the_protective_headers(client, config, sessions, request_id):
    accept, _ = links(config, sessions, request_id)
    headers = client.get(accept).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
