"""The admin pages in headless Chromium: sign in through a fake DiscourseConnect provider,
create and open a program from a template, accept a proposed matching, see the pairs; and
the refusals a browser meets (signed out, not an admin, a replayed answer, no CSRF token).

The service runs on a real server thread; the fake forum (API and provider) on another.
"""

from __future__ import annotations

import re

import pytest

from plugin.storage.db import reading, transaction
from plugin.storage.models import Forum, Program
from tests.fakes.discourse import FakeDiscourse
from tests.fakes.discourse_connect import ConnectSite
from tests.web.admin.support import CONNECT_SECRET, add_signup, make_program
from tests.web.browser_support import By, WebDriverException, WebDriverWait, needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def site(config, sessions, forum):
    """The fake forum with its provider: alice is its admin, bob a member."""
    fake = FakeDiscourse(api_key="test-key", bot_username="mentor_bot")
    fake.add_user("alice", id=5, name="Alice Admin", admin=True)
    fake.add_user("bob", id=6, name="Bob Member")
    fake.add_group("community", id=40, members=["alice", "bob"])
    fake.add_group("mentors", id=43)
    fake.add_group("mentees", id=44)
    connect_site = ConnectSite(fake, CONNECT_SECRET)
    with connect_site.serve() as url:
        with transaction(sessions) as db:
            row = db.get(Forum, forum.id)
            row.url, row.connect_secret = url, CONNECT_SECRET
        yield connect_site
    fake.assert_valid()


def body(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def _page(driver) -> str | None:
    """The current document's <html> element reference: a new page has a new one."""
    try:
        if driver.execute_script("return document.readyState") != "complete":
            return None
        return driver.find_element(By.TAG_NAME, "html").id
    except WebDriverException:  # mid-navigation, Chromium may answer with any error
        return None


def click(driver, label: str) -> None:
    """Press the button or follow the link with this text, and wait for the next page."""
    xpath = f"//button[normalize-space()='{label}'] | //a[normalize-space()='{label}']"
    before = _page(driver)
    driver.find_element(By.XPATH, xpath).click()
    WebDriverWait(driver, 10).until(lambda d: _page(d) not in (None, before))


def sign_in(driver, service: str) -> None:
    driver.get(f"{service}/admin/")
    click(driver, "Sign in through forum")


def test_an_admin_creates_opens_and_matches_a_program_and_sees_the_pairs(
    browser, service, site, sessions
):
    site.signed_in = "alice"
    sign_in(browser, service)
    assert browser.current_url == f"{service}/admin/" and "Your programs" in body(browser)

    click(browser, "New program")
    browser.find_element(By.CSS_SELECTOR, "input[name=template][value=career]").click()
    for name, value in (
        ("title", "Career circle"),
        ("group", "community"),
        ("mentor_group", "mentors"),
        ("mentee_group", "mentees"),
    ):
        browser.find_element(By.NAME, name).send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "select[name=language] option[value=en]").click()
    click(browser, "Create draft")
    program_id = int(re.search(r"/admin/programs/(\d+)$", browser.current_url).group(1))
    assert "Career circle" in body(browser) and "draft" in body(browser)

    title = browser.find_element(By.NAME, "title-0")
    assert title.get_attribute("value") == "Getting to know each other"  # the preview
    title.clear()
    title.send_keys("Meeting each other")
    click(browser, "Save steps")
    assert "Steps saved." in body(browser)
    click(browser, "Open for sign-ups")
    assert "The program is open" in body(browser)

    add_signup(sessions, program_id, "sam", "mentor", topics="python, careers")
    add_signup(sessions, program_id, "maya", "mentee", topics="python")
    click(browser, "Matching")
    click(browser, "Propose pairings")
    proposals = body(browser)
    assert "sam" in proposals and "maya" in proposals and "1.00" in proposals
    assert "Shared topics: python" in proposals and "Time zones: same time zone" in proposals
    click(browser, "Accept all proposals (1)")
    assert "1 pair created." in body(browser)

    click(browser, "Pairs")
    [row] = browser.find_elements(By.CSS_SELECTOR, "table tbody tr")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[1:4] == ["sam", "maya", "active"] and cells[-1] == "on track"
    with reading(sessions) as db:
        assert "Meeting each other" in db.get(Program, program_id).template


def test_a_signed_out_visitor_sees_no_admin_page(browser, site, service, sessions, forum):
    program_id = make_program(sessions, forum.id, title="Secret circle")
    for path in (f"/admin/programs/{program_id}", f"/admin/programs/{program_id}/signups.csv"):
        browser.get(service + path)
        assert "/admin/login" in browser.current_url
        assert "Secret circle" not in browser.page_source and "Sign in" in body(browser)


def test_a_forum_member_who_is_not_an_admin_is_refused(browser, service, site, sessions, forum):
    make_program(sessions, forum.id, title="Secret circle", admins=("alice",))
    site.signed_in = "bob"
    sign_in(browser, service)
    assert "bob is not an admin" in body(browser)
    browser.get(f"{service}/admin/")
    assert "/admin/login" in browser.current_url and "Secret circle" not in body(browser)


def test_a_replayed_sign_in_answer_is_refused(browser, service, site, sessions, forum):
    make_program(sessions, forum.id, title="Secret circle")
    site.signed_in = "alice"
    sign_in(browser, service)
    assert "Secret circle" in body(browser)
    browser.get(site.answers[-1])  # the forum's answer, sent again
    assert "Not signed in" in body(browser)
    browser.get(f"{service}/admin/")
    assert "/admin/login" in browser.current_url


def test_a_form_without_its_csrf_token_is_refused(browser, service, site, sessions, forum):
    program_id = make_program(sessions, forum.id, title="Draft circle", state="draft")
    site.signed_in = "alice"
    sign_in(browser, service)
    browser.get(f"{service}/admin/programs/{program_id}")
    # A forged form: the same action, without the hidden token (the page has no scripts;
    # the test's script only edits the form the way a forger's page would differ).
    browser.execute_script(
        "document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())"
    )
    click(browser, "Open for sign-ups")
    assert "did not come from these pages" in body(browser)
    with reading(sessions) as db:
        assert db.get(Program, program_id).state == "draft"
