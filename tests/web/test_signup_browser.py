"""The sign-up form in headless Chromium at a phone's size: fill it in, and its refusals."""

from __future__ import annotations

import pytest

from plugin.domain.signups import signup_token
from plugin.storage.db import transaction
from plugin.storage.models import Member, Signup
from tests.web.browser_support import PHONE, By, WebDriverWait, needs_chromium, viewport
from tests.web.pages_support import career_program

pytestmark = needs_chromium


@pytest.fixture
def link(config, sessions, forum, service):
    with transaction(sessions) as session:
        program = career_program(forum.id)
        member = Member(forum_id=forum.id, forum_user_id=42, username="maya", name="Maya Lee")
        session.add_all([program, member])
        session.flush()
        signup = Signup(
            program_id=program.id,
            member_id=member.id,
            role="mentor",
            state="pending",
            link_version=1,
            capacity=1,
        )
        session.add(signup)
        session.flush()
        token = signup_token(config.secret_key, signup)
    return f"{service}/signup/{token}"


def text_of(driver, by, value: str, wanted: str) -> str:
    """The element's text once it contains `wanted` (the page may still be loading)."""

    def ready(d):
        try:
            text = d.find_element(by, value).text
        except Exception:  # noqa: BLE001 - stale or absent while the next page loads
            return False
        return text if wanted in text else False

    return WebDriverWait(driver, 10).until(ready)


def signup_state(sessions) -> Signup:
    with sessions() as session:
        return session.query(Signup).one()


def test_a_member_signs_up_on_a_phone(browser, link, sessions):
    browser.set_window_size(390, 844)
    browser.get(link)
    assert "sign up as a mentor" in browser.find_element(By.TAG_NAME, "h1").text
    browser.find_element(By.ID, "about").send_keys("I review pull requests for a living")
    browser.find_element(By.ID, "topics").send_keys("python, code review")
    browser.find_element(By.ID, "timezone").send_keys("Europe/Berlin")
    capacity = browser.find_element(By.ID, "capacity")
    capacity.clear()
    capacity.send_keys("2")
    browser.find_element(By.ID, "age_confirmed").click()
    # The form fits the screen: nothing scrolls sideways on a phone.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert text_of(browser, By.TAG_NAME, "h1", "Thank you, Maya Lee")
    saved = signup_state(sessions)
    assert (saved.state, saved.capacity, saved.timezone) == ("ready", 2, "Europe/Berlin")


def test_the_adult_checkbox_is_at_least_24_px_square_on_a_phone(browser, link):
    viewport(browser, *PHONE)
    browser.get(link)
    box = browser.find_element(By.ID, "age_confirmed").rect
    assert box["width"] >= 24 and box["height"] >= 24, box


def test_clicking_anywhere_on_the_adult_confirmation_ticks_its_box(browser, link):
    viewport(browser, *PHONE)
    browser.get(link)
    hint = browser.find_element(By.XPATH, "//*[contains(text(), 'for adults only')]")
    hint.click()  # the small print at the end of the label, far from the box
    assert browser.find_element(By.ID, "age_confirmed").is_selected()


def test_the_form_refuses_a_member_who_does_not_confirm_being_an_adult(
    browser,
    link,
    sessions,
):
    browser.get(link)
    browser.find_element(By.ID, "about").send_keys("Happy to help")
    browser.find_element(By.ID, "topics").send_keys("careers")
    browser.find_element(By.ID, "timezone").send_keys("UTC")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert text_of(browser, By.ID, "age-error", "18 or older")
    assert browser.find_element(By.ID, "about").get_attribute("value") == "Happy to help"
    assert signup_state(sessions).state == "pending"


def test_a_forged_link_shows_how_to_get_a_fresh_one(browser, service):
    browser.get(f"{service}/signup/not-a-real-token")
    assert "!signup" in browser.find_element(By.TAG_NAME, "body").text
