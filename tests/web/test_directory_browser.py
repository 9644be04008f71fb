"""The mentor directory in headless Chromium at a phone's width: filter, choose, ask."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.storage.requests import MentorRequest
from tests.web.browser_support import By, WebDriverWait, needs_chromium
from tests.web.pages_support import directory_path
from tests.web.test_signup_browser import text_of

pytestmark = needs_chromium


@pytest.fixture
def link(config, sessions, forum, service) -> str:
    return service + directory_path(sessions, config.secret_key, forum.id)


def names(driver) -> list[str]:
    return [h.text for h in driver.find_elements(By.CSS_SELECTOR, "section h2")]


def test_a_mentee_asks_a_mentor_on_a_phone(browser, link, sessions):
    browser.set_window_size(390, 844)
    browser.get(link)
    assert names(browser) == ["Ana", "Sam"]
    # Nothing scrolls sideways on a phone.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    browser.find_element(By.XPATH, "//label[contains(., 'Ask Sam')]").click()
    browser.find_element(By.ID, "message").send_keys("Could you review my first project?")
    browser.find_element(By.XPATH, "//button[contains(., 'Send my request')]").click()
    assert text_of(browser, By.CSS_SELECTOR, "[role=status]", "Your request went to Sam")
    with sessions() as session:
        [request] = session.execute(select(MentorRequest)).scalars()
        assert (request.mentor.member.username, request.state) == ("sam", "open")


def test_the_topic_filter_works_without_javascript_on_a_phone(browser, link):
    browser.set_window_size(390, 844)
    browser.get(link)
    browser.find_element(By.ID, "topic").send_keys("SPEAK")
    browser.find_element(By.XPATH, "//button[contains(., 'Filter')]").click()
    WebDriverWait(browser, 10).until(lambda d: "topic=SPEAK" in d.current_url)
    assert names(browser) == ["Ana"]


def test_the_choice_of_a_mentor_is_at_least_24_px_square_on_a_phone(browser, link):
    browser.set_window_size(390, 844)
    browser.get(link)
    box = browser.find_element(By.ID, "mentor-1").rect
    assert box["width"] >= 24 and box["height"] >= 24, box
