"""Every page of the service, and how a browser gets to it, for the accessibility tests.

`PAGES` maps a page's name to a function that brings the browser to that page, with data
that fills its tables and forms: a page without rows or controls would check nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from plugin.config import Config
from plugin.domain.admins import Person, mint_admin_link
from plugin.domain.requests import answer_links
from plugin.storage.db import reading, transaction
from plugin.storage.models import Feedback, Forum, Pair, Report, Signup, utcnow
from plugin.storage.requests import MentorRequest
from tests.fakes.discourse_connect import ConnectSite
from tests.requests_support import ask, make_self_service
from tests.web.admin.support import add_signup, make_program
from tests.web.browser_support import By, WebDriverWait
from tests.web.pages_support import directory_path, feedback_path, signup_path

_askers = itertools.count(1)


@dataclass
class World:
    """The service at `base`, its data, and the fake forum alice signs in through."""

    base: str
    config: Config
    sessions: object
    forum_id: int
    site: ConnectSite
    open_id: int = 0
    draft_id: int = 0


def _pair(db, program_id: int, forum_id: int, mentor: int, mentee: int, state: str) -> Pair:
    pair = Pair(
        program_id=program_id,
        forum_id=forum_id,
        mentor_id=mentor,
        mentee_id=mentee,
        state=state,
        paired_at=utcnow(),
        last_activity_at=utcnow(),
        step_posted=2,
    )
    db.add(pair)
    db.flush()
    return pair


def seed(world: World) -> None:
    """An open program with sign-ups, pairs, ratings and reports, and a draft program."""
    sessions, forum_id = world.sessions, world.forum_id
    world.open_id = make_program(sessions, forum_id, title="Career circle", admins=("alice",))
    world.draft_id = make_program(sessions, forum_id, title="Draft circle", state="draft")
    add_signup(sessions, world.open_id, "sam", "mentor", topics="python, careers")
    add_signup(sessions, world.open_id, "maya", "mentee", topics="python")
    add_signup(sessions, world.open_id, "lee", "mentee", state="pending")
    make_self_service(sessions, world.open_id)  # the pairs page lists open requests
    ask(sessions, world.open_id, "maya", "sam")
    ids = {
        name: add_signup(sessions, world.open_id, name, role, state=state)
        for name, role, state in (
            ("ana", "mentor", "paired"),
            ("ben", "mentee", "paired"),
            ("cam", "mentee", "completed"),
        )
    }
    with transaction(sessions) as db:
        _pair(db, world.open_id, forum_id, ids["ana"], ids["ben"], "active")
        done = _pair(db, world.open_id, forum_id, ids["ana"], ids["cam"], "completed")
        ana, cam = (db.get(Signup, ids[n]).member_id for n in ("ana", "cam"))
        db.add(Feedback(pair_id=done.id, member_id=ana, rating=5, comment="Great talks"))
        db.add(Feedback(pair_id=done.id, member_id=cam, rating=4))
        db.add(Report(program_id=world.open_id, pair_id=done.id, reporter_id=cam, text="Late"))


def wait_for_text(driver, wanted: str) -> None:
    """Wait until the page's body shows `wanted` (after a form was sent)."""

    def shown(d) -> bool:
        try:
            return wanted in d.find_element(By.TAG_NAME, "body").text
        except Exception:  # noqa: BLE001 - stale or absent while the next page loads
            return False

    WebDriverWait(driver, 10).until(shown)


def submit(driver, wanted: str) -> None:
    """Press the form's submit button and wait for the answer page, which shows `wanted`."""
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for_text(driver, wanted)


def admin_get(world: World, driver, path: str) -> None:
    """Open an admin page, signing alice in through the fake forum first if needed."""
    driver.get(world.base + path)
    if "/admin/login" in driver.current_url:
        world.site.signed_in = "alice"
        driver.get(f"{world.base}/admin/login?forum=forum")
        WebDriverWait(driver, 10).until(lambda d: d.current_url == f"{world.base}/admin/")
        driver.get(world.base + path)


def propose_pairings(world: World, driver) -> None:
    """Ask for a matching proposal in the open program, so its page shows proposals."""
    admin_get(world, driver, f"/admin/programs/{world.open_id}/matching")
    submit(driver, "Proposals")


def _signup_form(world: World, driver) -> None:
    driver.get(world.base + signup_path(world.sessions, world.config.secret_key, world.forum_id))


def _signup_errors(world: World, driver) -> None:
    _signup_form(world, driver)
    submit(driver, "Please check the fields marked below")


def _signup_done(world: World, driver) -> None:
    _signup_form(world, driver)
    for field, value in (("about", "I review code"), ("topics", "python"), ("timezone", "UTC")):
        driver.find_element(By.ID, field).send_keys(value)
    driver.find_element(By.ID, "age_confirmed").click()
    submit(driver, "Thank you")


def _feedback_form(world: World, driver) -> None:
    path = feedback_path(world.sessions, world.config.secret_key, world.forum_id)
    driver.get(world.base + path)


def _feedback_error(world: World, driver) -> None:
    _feedback_form(world, driver)
    submit(driver, "Please choose a rating")


def _feedback_done(world: World, driver) -> None:
    _feedback_form(world, driver)
    driver.find_element(By.CSS_SELECTOR, "input[name=rating][value='4']").click()
    submit(driver, "Thank you")


def _answer_path(world: World, action: str) -> str:
    """The path of sam's accept or decline link for a fresh request (each visit answers one)."""
    mentee = f"asker{next(_askers)}"
    add_signup(world.sessions, world.open_id, mentee, "mentee")
    request_id = ask(world.sessions, world.open_id, mentee, "sam")
    with reading(world.sessions) as db:
        urls = answer_links(world.config, db.get_one(MentorRequest, request_id))
    return urlsplit(urls[0 if action == "accept" else 1]).path


def _answer_confirm(world: World, driver) -> None:
    driver.get(world.base + _answer_path(world, "accept"))


def _answer_done(world: World, driver) -> None:
    driver.get(world.base + _answer_path(world, "decline"))
    submit(driver, "Request declined")


def _directory(world: World, driver) -> None:
    path = directory_path(world.sessions, world.config.secret_key, world.forum_id)
    driver.get(world.base + path)


def _directory_sent(world: World, driver) -> None:
    _directory(world, driver)
    driver.find_element(By.ID, "mentor-1").click()
    # The page's first form is the topic filter: press the request's own button.
    driver.find_element(By.XPATH, "//button[contains(., 'Send my request')]").click()
    wait_for_text(driver, "Your request went to")


def _admin_link(world: World, driver) -> None:
    with reading(world.sessions) as db:
        forum = db.get(Forum, world.forum_id)
        url = mint_admin_link(world.config, forum, Person(5, "alice", True, True))
    driver.get(url)


def _login(world: World, driver) -> None:
    driver.delete_all_cookies()  # as a visitor sees it; admin_get signs in again later
    driver.get(f"{world.base}/admin/login")


def _admin(path: str) -> Callable[[World, object], None]:
    """A visit to the admin page at `path`; {open} and {draft} are the programs' ids."""

    def visit(world: World, driver) -> None:
        admin_get(world, driver, path.format(open=world.open_id, draft=world.draft_id))

    return visit


PAGES: dict[str, Callable[[World, object], None]] = {
    "index": lambda world, driver: driver.get(world.base + "/"),
    "signup-form": _signup_form,
    "signup-form-with-errors": _signup_errors,
    "signup-done": _signup_done,
    "signup-link-invalid": lambda world, driver: driver.get(world.base + "/signup/not-a-token"),
    "feedback-form": _feedback_form,
    "feedback-form-with-error": _feedback_error,
    "feedback-done": _feedback_done,
    "feedback-link-invalid": lambda world, driver: driver.get(world.base + "/feedback/nope"),
    "answer-confirm": _answer_confirm,
    "answer-done": _answer_done,
    "answer-link-invalid": lambda world, driver: driver.get(world.base + "/answer/nope"),
    "directory": _directory,
    "directory-request-sent": _directory_sent,
    "directory-link-invalid": lambda world, driver: driver.get(world.base + "/directory/nope"),
    "admin-login": _login,
    "admin-link-sign-in": _admin_link,
    "admin-index": _admin("/admin/"),
    "admin-program-open": _admin("/admin/programs/{open}"),
    "admin-program-draft-steps": _admin("/admin/programs/{draft}"),
    "admin-signups": _admin("/admin/programs/{open}/signups?state=all"),
    "admin-matching": _admin("/admin/programs/{open}/matching"),
    "admin-pairs": _admin("/admin/programs/{open}/pairs"),
    "admin-reports": _admin("/admin/programs/{open}/reports"),
    "admin-settings": _admin("/admin/forum/settings"),
    "admin-new-program": _admin("/admin/programs/new"),
    "admin-message-not-found": _admin("/admin/programs/999999"),
}
