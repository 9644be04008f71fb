"""The admin pages speak the browser's language (Accept-Language), English or German."""

from __future__ import annotations

import re

from sqlalchemy import select

from plugin.storage.db import reading
from plugin.storage.models import Program
from tests.web.admin.support import add_signup, make_pair, make_program, post, rate, text

GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found, "the page names no language"
    return found.group(1)


def test_the_index_is_german_for_a_german_browser(staff):
    page = text(staff.get("/admin/", headers=GERMAN))
    assert html_lang(page) == "de"
    assert "<h1>Ihre Programme</h1>" in page and "Neues Programm" in page


def test_the_index_counts_are_named_in_german(staff):
    page = text(staff.get("/admin/", headers=GERMAN))
    assert 'aria-label="0 aktive Paare in Career circle"' in page
    assert '<span class="badge">offen</span>' in page


def test_the_index_is_english_for_an_english_browser(staff):
    page = text(staff.get("/admin/", headers={"Accept-Language": "en-GB"}))
    assert html_lang(page) == "en" and "<h1>Your programs</h1>" in page


def test_the_index_is_english_without_accept_language(staff):
    page = text(staff.get("/admin/"))
    assert html_lang(page) == "en" and "<h1>Your programs</h1>" in page


def test_an_unsupported_browser_language_gets_english(staff):
    page = text(staff.get("/admin/", headers={"Accept-Language": "fr, ja;q=0.8"}))
    assert html_lang(page) == "en" and "Sign out" in page


def test_the_program_page_is_german_for_a_german_browser(staff, sessions, forum):
    daily = make_program(sessions, forum.id, title="Täglich", cadence=1.5)
    page = text(staff.get(f"/admin/programs/{daily}", headers=GERMAN))
    assert html_lang(page) == "de"
    assert "einer alle 1,5 Tage" in page and "Programm schließen …" in page
    assert "Programm und Schritte" in page and "Abmelden" in page


def test_the_program_page_gives_the_average_rating_with_a_german_decimal_comma(
    staff, sessions, program_id
):
    mentor = add_signup(sessions, program_id, "sam", "mentor")
    mentee = add_signup(sessions, program_id, "maya", "mentee")
    pair = make_pair(sessions, program_id, mentor, mentee, days_ago=60, state="completed")
    rate(sessions, pair, "sam", 5, None)
    rate(sessions, pair, "maya", 4, None)
    page = text(staff.get(f"/admin/programs/{program_id}", headers=GERMAN))
    assert "im Schnitt 4,5 von 5 aus 2 Bewertungen" in page


def test_the_program_page_is_english_for_an_english_browser(staff, program_id):
    page = text(staff.get(f"/admin/programs/{program_id}", headers={"Accept-Language": "en"}))
    assert html_lang(page) == "en" and "Close the program…" in page


def test_a_pairs_date_is_written_the_german_way(staff, sessions, program_id):
    mentor = add_signup(sessions, program_id, "sam", "mentor")
    mentee = add_signup(sessions, program_id, "maya", "mentee")
    make_pair(sessions, program_id, mentor, mentee, days_ago=3, active_days_ago=1)
    page = text(staff.get(f"/admin/programs/{program_id}/pairs", headers=GERMAN))
    assert re.search(r"\d\d\.\d\d\.\d\d, \d\d:\d\d UTC", page), "no German date"


def test_an_error_page_is_german_for_a_german_browser(staff, program_id):
    page = text(staff.get("/admin/programs/999", headers=GERMAN))
    assert "Dieses Programm gibt es nicht." in page and "Nicht gefunden" in page


def test_the_sign_in_page_is_german_for_a_german_browser(client):
    page = text(client.get("/admin/login", headers=GERMAN))
    assert html_lang(page) == "de" and "<h1>Anmelden</h1>" in page


NEW = {
    "template": "skills",
    "title": "Python-Kenntnisse",
    "group": "community",
    "mentor_group": "mentors",
    "mentee_group": "mentees",
    "cadence_days": "7",
    "admins": "",
}


def created_language(sessions) -> str:
    with reading(sessions) as db:
        return db.execute(
            select(Program.language).where(Program.title == NEW["title"])
        ).scalar_one()


def test_the_new_program_form_offers_each_language_by_its_own_name(staff):
    page = text(staff.get("/admin/programs/new", headers=GERMAN))
    assert '<option value="de" lang="de">Deutsch</option>' in page
    assert '<option value="en" lang="en">English</option>' in page


def test_a_program_is_created_in_the_chosen_language(staff, sessions, fake, live_forum):
    form = {**NEW, "language": "de"}
    response = post(staff, "/admin/programs/new", form, "/admin/programs/new")
    assert response.status_code == 303 and created_language(sessions) == "de"


def test_an_unknown_language_is_refused(staff, sessions, fake, live_forum):
    form = {**NEW, "language": "tlh"}
    response = post(staff, "/admin/programs/new", form, "/admin/programs/new")
    assert response.status_code == 400 and "Choose one of the languages." in text(response)


def test_a_program_created_without_a_language_takes_the_forums(staff, sessions, fake, live_forum):
    fake.default_locale = "de"
    form = {**NEW, "language": ""}
    response = post(staff, "/admin/programs/new", form, "/admin/programs/new")
    assert response.status_code == 303 and created_language(sessions) == "de"
