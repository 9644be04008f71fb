"""The program page: its cadence and ratings, and closing it in two steps."""

from __future__ import annotations

from sqlalchemy import select

from plugin.storage.db import reading
from plugin.storage.models import Program
from tests.web.admin.support import (
    add_signup,
    make_pair,
    make_program,
    post,
    rate,
    text,
)


def state_of(sessions, program_id: int) -> str:
    with reading(sessions) as db:
        return db.execute(select(Program.state).where(Program.id == program_id)).scalar_one()


def test_the_program_page_words_its_cadence(staff, sessions, forum):
    daily = make_program(sessions, forum.id, title="Daily", cadence=1)
    assert "one a day" in text(staff.get(f"/admin/programs/{daily}"))


def test_the_program_page_shows_the_average_rating_and_how_many(staff, sessions, program_id):
    mentor = add_signup(sessions, program_id, "sam", "mentor")
    mentee = add_signup(sessions, program_id, "maya", "mentee")
    pair = make_pair(sessions, program_id, mentor, mentee, days_ago=60, state="completed")
    rate(sessions, pair, "sam", 5, None)
    rate(sessions, pair, "maya", 4, None)
    assert "average 4.5 of 5 from 2 ratings" in text(staff.get(f"/admin/programs/{program_id}"))


def test_the_program_page_says_when_no_rating_is_given_yet(staff, program_id):
    assert "none given yet" in text(staff.get(f"/admin/programs/{program_id}"))


def test_the_close_button_asks_first_and_does_not_close(staff, sessions, program_id):
    page = text(staff.get(f"/admin/programs/{program_id}"))
    assert f'method="get" action="/admin/programs/{program_id}/close"' in page
    response = staff.get(f"/admin/programs/{program_id}/close")
    assert response.status_code == 200 and state_of(sessions, program_id) == "open"


def test_the_confirmation_says_what_closing_does(staff, sessions, program_id):
    mentor = add_signup(sessions, program_id, "sam", "mentor")
    mentee = add_signup(sessions, program_id, "maya", "mentee")
    make_pair(sessions, program_id, mentor, mentee, days_ago=3)
    page = text(staff.get(f"/admin/programs/{program_id}/close"))
    assert "No new sign-ups" in page and "No new pairs" in page
    assert "1 pair is running now" in page and "cannot be opened again" in page


def test_the_confirmation_offers_a_cancel_link_back_to_the_program(staff, program_id):
    page = text(staff.get(f"/admin/programs/{program_id}/close"))
    assert f'<a href="/admin/programs/{program_id}">Cancel</a>' in page


def test_the_confirmed_close_closes_the_program(staff, sessions, program_id):
    close = f"/admin/programs/{program_id}/close"
    response = post(staff, close, token_page=close)
    assert response.status_code == 303 and state_of(sessions, program_id) == "closed"


def test_the_confirmation_of_a_closed_program_goes_back_to_it(staff, sessions, forum):
    closed = make_program(sessions, forum.id, state="closed")
    response = staff.get(f"/admin/programs/{closed}/close")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/programs/{closed}")


def test_a_program_admin_cannot_open_the_confirmation_of_another_program(pat, sessions, forum):
    other = make_program(sessions, forum.id, title="Not theirs", admins=("someone",))
    assert pat.get(f"/admin/programs/{other}/close").status_code == 403
