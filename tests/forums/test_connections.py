"""The connection check's generic part: which answers are the operator's to fix."""

from __future__ import annotations

from plugin.forums.connections import check_connection
from plugin.forums.kind import Severity
from plugin.storage.models import Forum
from tests.fakes.discourse import FakeDiscourse
from tests.helpers import LOOPBACK, SECRET, serve_checked

ALLOWED = frozenset(LOOPBACK)


def discourse_row(url: str) -> Forum:
    return Forum(
        kind="discourse",
        name="f",
        url=url,
        api_key="test-key",
        bot_user="mentor_bot",
        webhook_secret=SECRET,
    )


def test_a_forum_that_redirects_is_a_settings_problem_naming_the_url():
    fake = FakeDiscourse()
    fake.fail_next("GET", r"^/u/", 301, headers={"Location": "https://elsewhere.example/"})
    with serve_checked(fake) as served:
        [problem] = check_connection(discourse_row(served.url), ALLOWED)
    assert problem.severity is Severity.SETTINGS and "check the forum's URL" in problem.text


def test_a_rate_limited_forum_did_not_answer_yet():
    fake = FakeDiscourse()
    fake.fail_next("GET", r"^/u/", 429, headers={"Retry-After": "30"})
    with serve_checked(fake) as served:
        [problem] = check_connection(discourse_row(served.url), ALLOWED)
    assert problem.severity is Severity.UNANSWERED


def test_a_forum_that_accepts_everything_has_no_problems():
    with serve_checked(FakeDiscourse()) as served:
        assert check_connection(discourse_row(served.url), ALLOWED) == []
