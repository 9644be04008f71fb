"""The index: each program with its sign-ups, who waits, active pairs and open reports."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from plugin.storage.db import reading, transaction
from plugin.storage.models import Report, Signup
from plugin.web.admin.overview import Counts, program_counts
from tests.web.admin.support import add_signup, make_pair, make_program, text


def report(sessions, program_id: int, signup_id: int, state: str = "open") -> None:
    with transaction(sessions) as db:
        member_id = db.get(Signup, signup_id).member_id
        db.add(Report(program_id=program_id, reporter_id=member_id, text="x", state=state))


@pytest.fixture
def two_programs(sessions, forum, program_id) -> tuple[int, int]:
    """Career circle (pat's) and Design desk, with different numbers of everything."""
    other = make_program(sessions, forum.id, title="Design desk", admins=("pat",))
    sam = add_signup(sessions, program_id, "sam", "mentor")
    maya = add_signup(sessions, program_id, "maya", "mentee")
    add_signup(sessions, program_id, "ola", "mentee")  # ready: waiting
    add_signup(sessions, program_id, "ben", "mentee", state="pending")  # no profile yet
    add_signup(sessions, program_id, "gone", "mentee", state="withdrawn")
    make_pair(sessions, program_id, sam, maya, days_ago=3)
    report(sessions, program_id, maya)
    report(sessions, program_id, sam, state="resolved")
    lee = add_signup(sessions, other, "lee", "mentor")
    ana = add_signup(sessions, other, "ana", "mentee")
    make_pair(sessions, other, lee, ana, days_ago=3, state="paused")
    for name in ("kim", "joe", "ray"):
        add_signup(sessions, other, name, "mentee")
    report(sessions, other, ana)
    report(sessions, other, lee)
    return program_id, other


def counts(sessions, ids) -> dict[int, Counts]:
    with reading(sessions) as db:
        return program_counts(db, ids)


def test_each_program_gets_its_own_numbers(sessions, two_programs):
    career, design = two_programs
    assert counts(sessions, two_programs) == {
        career: Counts(signups=3, waiting=1, active_pairs=1, open_reports=1),
        design: Counts(signups=5, waiting=3, active_pairs=0, open_reports=2),
    }


def test_a_program_with_nothing_yet_counts_zero(sessions, forum):
    empty = make_program(sessions, forum.id, title="Empty")
    assert counts(sessions, [empty]) == {empty: Counts()}


def test_the_numbers_take_three_queries_however_many_programs(sessions, forum, two_programs):
    more = [make_program(sessions, forum.id, title=f"P{i}") for i in range(5)]
    statements: list[str] = []
    with reading(sessions) as db:
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.get_bind(), "before_cursor_execute", listen)
        try:
            program_counts(db, [*two_programs, *more])
        finally:
            event.remove(db.get_bind(), "before_cursor_execute", listen)
    assert len(statements) == 3 and all("GROUP BY" in s for s in statements)


def cell(page: str, label: str, title: str) -> str:
    """The link text of the count whose accessible name says `label` in program `title`."""
    found = re.search(rf'aria-label="(\d+) {label} in {title}">(\d+)</a>', page)
    assert found, f"no {label!r} count for {title!r}"
    return found.group(2)


def test_the_index_shows_each_programs_counts(pat, two_programs):
    page = text(pat.get("/admin/"))
    assert cell(page, "open report", "Career circle") == "1"
    assert cell(page, "open reports", "Design desk") == "2"
    assert cell(page, "waiting for a pair", "Design desk") == "3"


def test_each_count_links_to_its_page(pat, two_programs):
    career, _ = two_programs
    page = text(pat.get("/admin/"))
    for link in (
        f"/admin/programs/{career}/signups?state=profile+done",
        f"/admin/programs/{career}/signups?state=ready",
        f"/admin/programs/{career}/pairs?state=active",
        f"/admin/programs/{career}/reports?state=open",
    ):
        assert f'href="{link}"' in page


def test_the_signups_page_lists_whoever_finished_their_profile(pat, two_programs):
    career, _ = two_programs
    page = text(pat.get(f"/admin/programs/{career}/signups?state=profile+done"))
    assert all(name in page for name in ("sam", "maya", "ola"))
    assert "ben" not in page and "gone" not in page
