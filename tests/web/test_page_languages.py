"""The sign-up and feedback pages speak the member's language (issue 13).

What both pages do is one test each, parametrized by page (its id names the page)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.web.pages_support import feedback_path, signup_path


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found, "the page names no language"
    return found.group(1)


@dataclass(frozen=True)
class Page:
    """A member's page: how to get its path, and words that show which language it speaks."""

    path: Callable[..., str]  # (sessions, secret, forum_id, *, language, locale) -> path
    german: tuple[str, ...]
    english: tuple[str, ...]


PAGES = {
    "signup": Page(
        signup_path,
        german=("Anmeldung als Mentor", "Anmeldung speichern", "Was kannst du als Mentor bieten?"),
        english=("Save my sign-up", "What can you offer as a mentor?"),
    ),
    "feedback": Page(
        feedback_path,
        german=(
            "Wie war dein Mentoring in Career advancement?",
            "Absenden",
            "Deine Bewertung, von 1",
        ),
        english=("How was your mentorship in Career advancement?",),
    ),
}


@pytest.fixture(params=PAGES.values(), ids=PAGES.keys())
def page(request) -> Page:
    return request.param


@pytest.fixture
def page_in(sessions, config, forum, page):
    """The page's path for a program in `language` and a member whose account says `locale`."""

    def make(language: str, locale: str | None = None) -> str:
        return page.path(sessions, config.secret_key, forum.id, language=language, locale=locale)

    return make


def assert_speaks(body: str, language: str, words: tuple[str, ...]) -> None:
    assert html_lang(body) == language
    assert [w for w in words if w not in body] == []


def test_the_page_of_a_german_program_is_german(client, page, page_in):
    assert_speaks(client.get(page_in("de")).get_data(as_text=True), "de", page.german)


def test_a_german_member_reads_an_english_program_in_german(client, page, page_in):
    body = client.get(page_in("en", locale="de")).get_data(as_text=True)
    assert_speaks(body, "de", page.german)


def test_an_english_member_of_a_german_program_reads_english(client, page, page_in):
    body = client.get(page_in("de", locale="en")).get_data(as_text=True)
    assert_speaks(body, "en", page.english)


def test_the_page_of_an_english_program_ignores_the_browser_language(client, page, page_in):
    body = client.get(page_in("en"), headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert_speaks(body, "en", page.english)


@pytest.fixture
def signup_in(sessions, config, forum):
    """The sign-up path for a program in `language` and a member whose account says `locale`."""

    def make(language: str, locale: str | None = None, role: str = "mentor") -> str:
        return signup_path(
            sessions, config.secret_key, forum.id, role, language=language, locale=locale
        )

    return make


def test_the_signup_form_errors_are_in_the_member_language(client, signup_in):
    path = signup_in("de")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    form = {"csrf_token": token.group(1), "about": "", "topics": "x" * 600, "timezone": "Nowhere"}
    page = client.post(path, data=form).get_data(as_text=True)
    assert "Bitte schreib ein paar Worte über dich." in page
    assert "Bitte kürze die Themen auf weniger als 500 Zeichen." in page
    assert "Bitte wähle eine Zeitzone aus der Liste" in page


def test_the_signup_thanks_in_the_member_language(client, signup_in):
    path = signup_in("en", locale="de_AT", role="mentee")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    form = {
        "csrf_token": token.group(1),
        "about": "Ich lerne Python",
        "topics": "python",
        "timezone": "Europe/Vienna",
        "age_confirmed": "on",
    }
    page = client.post(path, data=form).get_data(as_text=True)
    assert "als Mentee ist vollständig" in page


def test_a_rating_error_is_in_the_member_language(client, sessions, config, forum):
    path = feedback_path(sessions, config.secret_key, forum.id, language="de")
    page = client.post(path, data={"rating": "9"}).get_data(as_text=True)
    assert "Bitte schick das Formular noch einmal ab." in page


def test_an_invalid_link_page_follows_the_browser(client):
    page = client.get("/signup/nonsense", headers={"Accept-Language": "de-CH, en;q=0.5"})
    body = page.get_data(as_text=True)
    assert page.status_code == 404 and html_lang(body) == "de"
    assert "Dieser Link funktioniert nicht mehr" in body


@pytest.mark.parametrize(
    "path, language, command",
    [
        ("/signup/nonsense", "en", "!signup"),
        ("/signup/nonsense", "de", "!signup"),
        ("/directory/nonsense", "en", "!directory"),
        ("/directory/nonsense", "de", "!verzeichnis"),
    ],
    ids=["signup-en", "signup-de", "directory-en", "directory-de"],
)
def test_an_invalid_link_page_names_the_command_that_sends_a_fresh_link(
    client, path, language, command
):
    body = client.get(path, headers={"Accept-Language": language}).get_data(as_text=True)
    assert f"<code>{command}</code>" in body
