"""The admin pages through the Flask test client: programs, sign-ups, matching, pairs,
reports, forum settings, CSV exports; CSRF on every form; only what the admin administers."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import event, func, select

from plugin.domain.proposals import propose
from plugin.resources import manifest
from plugin.storage.db import reading, transaction
from plugin.storage.models import (
    Pair,
    Program,
    ProposalItem,
    Report,
    Signup,
    utcnow,
)
from plugin.web.admin import people
from plugin.web.admin.health import health
from tests.helpers import SECRET
from tests.web.admin.support import (
    CONNECT_SECRET,
    add_signup,
    csrf,
    make_pair,
    make_program,
    post,
    rate,
    settings_form,
    sign_in,
    stored_forum,
    text,
)


def program(sessions, program_id: int) -> Program:
    with reading(sessions) as db:
        return db.get(Program, program_id)


def pair_count(sessions) -> int:
    with reading(sessions) as db:
        return db.execute(select(func.count()).select_from(Pair)).scalar_one()


# -- index, CSRF, headers ---------------------------------------------------------------------


def test_the_index_lists_the_programs_by_title(staff, sessions, forum):
    make_program(sessions, forum.id, title="Alpha mentoring")
    page = text(staff.get("/admin/"))
    assert page.index("Alpha mentoring") < page.index("Career circle")


def test_a_form_without_the_csrf_token_is_refused(staff, sessions, forum):
    draft = make_program(sessions, forum.id, state="draft")
    response = staff.post(f"/admin/programs/{draft}/open")
    assert response.status_code == 400
    assert program(sessions, draft).state == "draft"


def test_a_form_with_another_sessions_csrf_token_is_refused(staff, app, sessions, forum):
    draft = make_program(sessions, forum.id, state="draft")
    other = app.test_client()
    sign_in(other, "alice", admin=True)
    response = staff.post(f"/admin/programs/{draft}/open", data={"csrf_token": csrf(other)})
    assert response.status_code == 400
    assert program(sessions, draft).state == "draft"


def test_admin_pages_may_not_be_framed_cached_or_run_scripts(staff):
    headers = staff.get("/admin/").headers
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"


# -- programs ---------------------------------------------------------------------------------


NEW = {
    "template": "skills",
    "title": "Python skills",
    "language": "en",  # the form's select; empty asks the forum (tests/web/admin/test_languages.py)
    "group": "community",
    "mentor_group": "mentors",
    "mentee_group": "mentees",
    "cadence_days": "7",
    "admins": "",
}


def test_a_program_is_created_as_a_draft_from_a_template(staff, sessions, fake, live_forum):
    response = post(staff, "/admin/programs/new", NEW, "/admin/programs/new")
    assert response.status_code == 303
    page = text(staff.get(response.headers["Location"]))
    assert "Python skills" in page and "draft" in page and "Save steps" in page


def test_a_program_with_an_unknown_group_is_not_created(staff, sessions, fake, live_forum):
    response = post(staff, "/admin/programs/new", {**NEW, "group": "nope"}, "/admin/programs/new")
    assert response.status_code == 400 and "no group named" in text(response)
    with reading(sessions) as db:
        assert db.execute(select(func.count()).select_from(Program)).scalar_one() == 1


def test_a_program_admin_may_not_create_programs(pat):
    assert pat.get("/admin/programs/new").status_code == 403


def test_the_steps_of_a_draft_can_be_edited(staff, sessions, forum):
    draft = make_program(sessions, forum.id, state="draft")
    steps = json.loads(program(sessions, draft).template)["steps"]
    form = {"count": str(len(steps))}
    for i, s in enumerate(steps):
        form |= {f"title-{i}": s["title"], f"discussion-{i}": "\n".join(s["discussion"])}
        form[f"tip-{i}"] = s["tip"]
    form["title-0"] = "Meeting each other"
    form["remove-7"] = "on"
    form |= {"title-new": "Looking back", "discussion-new": "One\nTwo\nThree", "tip-new": "Write"}
    response = post(staff, f"/admin/programs/{draft}/steps", form)
    assert response.status_code == 303
    saved = json.loads(program(sessions, draft).template)["steps"]
    assert saved[0]["title"] == "Meeting each other"
    assert [s["title"] for s in saved[-2:]] == [steps[6]["title"], "Looking back"]


def _step_form(steps: list[dict]) -> dict:
    form = {"count": str(len(steps))}
    for i, s in enumerate(steps):
        form |= {f"title-{i}": s["title"], f"discussion-{i}": "\n".join(s["discussion"])}
        form[f"tip-{i}"] = s["tip"]
    return form


def test_adding_a_step_keeps_only_the_edited_language_and_says_so(staff, sessions, forum):
    draft = make_program(sessions, forum.id, state="draft")
    assert "de" in json.loads(program(sessions, draft).template)["translations"]
    form = _step_form(json.loads(program(sessions, draft).template)["steps"])
    form |= {"title-new": "Looking back", "discussion-new": "One\nTwo\nThree", "tip-new": "Write"}
    response = post(staff, f"/admin/programs/{draft}/steps", form)
    assert response.status_code == 303
    saved = json.loads(program(sessions, draft).template)
    assert len(saved["steps"]) == 9 and not saved.get("translations")
    assert "steps were removed (de)" in text(
        staff.get(response.headers["Location"])
    )


def test_the_steps_of_a_german_draft_are_edited_in_german(staff, sessions, forum):
    draft = make_program(sessions, forum.id, state="draft")
    with transaction(sessions) as db:
        db.get_one(Program, draft).language = "de"
    stored = json.loads(program(sessions, draft).template)
    form = _step_form(stored["translations"]["de"]["steps"])
    form["title-0"] = "Einander kennenlernen"
    assert post(staff, f"/admin/programs/{draft}/steps", form).status_code == 303
    saved = json.loads(program(sessions, draft).template)
    assert saved["translations"]["de"]["steps"][0]["title"] == "Einander kennenlernen"
    assert saved["steps"][0]["title"] == stored["steps"][0]["title"]  # English untouched


def test_an_invalid_step_edit_is_refused_and_nothing_saved(staff, sessions, forum):
    draft = make_program(sessions, forum.id, state="draft")
    before = program(sessions, draft).template
    form = {"count": "1", "title-0": "Only", "discussion-0": "a\nb\nc", "tip-0": "t"}
    response = post(staff, f"/admin/programs/{draft}/steps", form)
    assert response.status_code == 400 and "6 to 52 needed" in text(response)
    assert program(sessions, draft).template == before


def test_steps_cannot_be_edited_once_the_program_is_open(staff, sessions, program_id):
    response = post(staff, f"/admin/programs/{program_id}/steps", {"count": "0"})
    assert response.status_code == 409


def test_a_draft_is_opened_and_then_closed(staff, sessions, forum):
    draft = make_program(sessions, forum.id, state="draft")
    post(staff, f"/admin/programs/{draft}/open")
    opened = program(sessions, draft).state
    post(staff, f"/admin/programs/{draft}/close")
    assert (opened, program(sessions, draft).state) == ("open", "closed")


def test_a_closed_program_cannot_be_opened_again(staff, sessions, forum):
    closed = make_program(sessions, forum.id, state="closed")
    assert post(staff, f"/admin/programs/{closed}/open").status_code == 409


def test_a_program_admin_cannot_reach_another_program(pat, sessions, forum):
    other = make_program(sessions, forum.id, title="Not theirs", admins=("someone",))
    assert pat.get(f"/admin/programs/{other}").status_code == 403
    assert post(pat, f"/admin/programs/{other}/close").status_code == 403


def test_an_unknown_program_is_404(staff):
    assert staff.get("/admin/programs/999").status_code == 404


# -- sign-ups ---------------------------------------------------------------------------------


def test_the_signups_page_shows_who_is_waiting_and_their_answers(staff, sessions, program_id):
    add_signup(sessions, program_id, "sam", "mentor", about="Ten years of data work", capacity=2)
    add_signup(sessions, program_id, "maya", "mentee", state="pending")
    add_signup(sessions, program_id, "old", "mentee", state="withdrawn")
    page = text(staff.get(f"/admin/programs/{program_id}/signups"))
    assert "sam" in page and "Ten years of data work" in page and "maya" in page
    assert "old" not in page


def test_member_answers_are_escaped(staff, sessions, program_id):
    add_signup(sessions, program_id, "sam", "mentor", about="<script>alert(1)</script>")
    page = text(staff.get(f"/admin/programs/{program_id}/signups"))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


def test_a_mentee_whose_pairing_completed_is_listed_as_completed(staff, sessions, program_id):
    add_signup(sessions, program_id, "maya", "mentee", state="completed")
    page = text(staff.get(f"/admin/programs/{program_id}/signups?state=completed"))
    assert "maya" in page and '<option value="completed" selected' in page


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text(response))))


def test_signups_export_as_csv(staff, sessions, program_id):
    add_signup(sessions, program_id, "sam", "mentor", topics="python", timezone="Europe/Berlin")
    response = staff.get(f"/admin/programs/{program_id}/signups.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    [row] = read_csv(response)
    assert (row["user"], row["role"], row["topics"], row["timezone"]) == (
        "sam",
        "mentor",
        "python",
        "Europe/Berlin",
    )


def test_csv_cells_that_look_like_formulas_are_quoted(staff, sessions, program_id):
    add_signup(sessions, program_id, "sam", "mentor", about='=HYPERLINK("http://x")')
    [row] = read_csv(staff.get(f"/admin/programs/{program_id}/signups.csv"))
    assert row["about"].startswith("'=")


# -- matching ---------------------------------------------------------------------------------


def waiting_pair(sessions, program_id, *, mentee_tz="UTC") -> tuple[int, int]:
    mentor = add_signup(sessions, program_id, "sam", "mentor", topics="python, careers")
    mentee = add_signup(sessions, program_id, "maya", "mentee", topics="python", timezone=mentee_tz)
    return mentor, mentee


def test_proposals_show_scores_and_their_reasons(staff, sessions, program_id):
    waiting_pair(sessions, program_id)
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    page = text(staff.get(f"/admin/programs/{program_id}/matching"))
    assert "1.00" in page
    assert "Shared topics: python" in page and "Time zones: same time zone" in page


def test_proposals_stay_a_draft_until_accepted(staff, sessions, program_id):
    waiting_pair(sessions, program_id)
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    assert pair_count(sessions) == 0


def test_the_pages_propose_what_mentorship_match_proposes(staff, sessions, program_id):
    add_signup(sessions, program_id, "sam", "mentor", topics="python", timezone="Asia/Tokyo")
    add_signup(sessions, program_id, "lee", "mentor", topics="careers", timezone="UTC")
    add_signup(sessions, program_id, "maya", "mentee", topics="careers", timezone="Asia/Tokyo")
    add_signup(sessions, program_id, "ola", "mentee", topics="python", timezone="UTC")
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    with reading(sessions) as db:
        expected = propose(db, db.get(Program, program_id))["pairs"]
        items = db.execute(select(ProposalItem)).scalars().all()
    got = {(i.mentor_signup_id, i.mentee_signup_id, i.score) for i in items}
    assert got == {(p["mentor_signup"], p["mentee_signup"], p["score"]) for p in expected}


def test_accepting_one_proposal_pairs_the_two(staff, sessions, program_id):
    mentor, mentee = waiting_pair(sessions, program_id)
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    with reading(sessions) as db:
        item = db.execute(select(ProposalItem)).scalar_one()
    post(staff, f"/admin/programs/{program_id}/matching/accept/{item.id}")
    with reading(sessions) as db:
        pair = db.execute(select(Pair)).scalar_one()
    assert (pair.mentor_id, pair.mentee_id) == (mentor, mentee)


def test_accepting_all_proposals_pairs_everyone_proposed(staff, sessions, program_id):
    waiting_pair(sessions, program_id)
    add_signup(sessions, program_id, "lee", "mentor", topics="design")
    add_signup(sessions, program_id, "ola", "mentee", topics="design")
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    response = post(staff, f"/admin/programs/{program_id}/matching/accept-all")
    assert response.status_code == 303 and pair_count(sessions) == 2


def test_the_maximum_time_zone_gap_leaves_far_pairs_out(staff, sessions, program_id):
    waiting_pair(sessions, program_id, mentee_tz="Asia/Tokyo")
    post(staff, f"/admin/programs/{program_id}/matching/propose", {"max_tz_gap_hours": "2"})
    page = text(staff.get(f"/admin/programs/{program_id}/matching"))
    assert "No pairing is possible right now" in page
    assert "Mentees waiting without a proposal" in page


def test_a_time_zone_gap_out_of_range_is_refused(staff, sessions, program_id):
    response = post(
        staff, f"/admin/programs/{program_id}/matching/propose", {"max_tz_gap_hours": "13"}
    )
    assert response.status_code == 400


def test_a_stale_proposal_is_refused_with_its_reason(staff, sessions, program_id):
    _, mentee = waiting_pair(sessions, program_id)
    post(staff, f"/admin/programs/{program_id}/matching/propose")
    with transaction(sessions) as db:
        db.get(Signup, mentee).state = "withdrawn"
    post(staff, f"/admin/programs/{program_id}/matching/accept-all")
    page = text(staff.get(f"/admin/programs/{program_id}/matching"))
    assert "the mentee is not ready" in page and pair_count(sessions) == 0


def test_an_admin_pairs_two_members_by_hand(staff, sessions, program_id):
    mentor, mentee = waiting_pair(sessions, program_id)
    post(staff, f"/admin/programs/{program_id}/matching/pair", {"mentor": mentor, "mentee": mentee})
    assert pair_count(sessions) == 1


def test_pairing_by_hand_refuses_a_member_who_is_not_ready(staff, sessions, program_id):
    mentor = add_signup(sessions, program_id, "sam", "mentor")
    mentee = add_signup(sessions, program_id, "maya", "mentee", state="pending")
    post(staff, f"/admin/programs/{program_id}/matching/pair", {"mentor": mentor, "mentee": mentee})
    page = text(staff.get(f"/admin/programs/{program_id}/matching"))
    assert "Not paired: the mentee is not ready" in page and pair_count(sessions) == 0


def test_pairing_by_hand_refuses_members_of_another_program(staff, sessions, forum, program_id):
    other = make_program(sessions, forum.id, title="Other")
    mentor = add_signup(sessions, other, "sam", "mentor")
    mentee = add_signup(sessions, program_id, "maya", "mentee")
    response = post(
        staff, f"/admin/programs/{program_id}/matching/pair", {"mentor": mentor, "mentee": mentee}
    )
    assert response.status_code == 400 and pair_count(sessions) == 0


# -- pairs ------------------------------------------------------------------------------------


@pytest.fixture
def four_pairs(sessions, program_id):
    """One pair of each health (cadence 7 days)."""
    names = ("on", "check", "quiet", "done")
    mentors = [add_signup(sessions, program_id, f"{n}_mentor", "mentor") for n in names]
    mentees = [add_signup(sessions, program_id, f"{n}_mentee", "mentee") for n in names]
    make_pair(sessions, program_id, mentors[0], mentees[0], days_ago=30, active_days_ago=2)
    make_pair(sessions, program_id, mentors[1], mentees[1], days_ago=10)
    make_pair(sessions, program_id, mentors[2], mentees[2], days_ago=40, active_days_ago=25)
    make_pair(sessions, program_id, mentors[3], mentees[3], days_ago=60, state="completed")


def test_pair_health_follows_the_cadence(sessions, program_id, four_pairs):
    with reading(sessions) as db:
        pairs = db.execute(select(Pair).order_by(Pair.id)).scalars().all()
    assert [health(p, 7, utcnow()) for p in pairs] == [
        "on track",
        "needs a check-in",
        "silent",
        "ended",
    ]


def test_the_pairs_page_shows_state_step_last_activity_and_health(staff, program_id, four_pairs):
    page = text(staff.get(f"/admin/programs/{program_id}/pairs"))
    assert "on_mentor" in page and "on_mentee" in page and "0 of 8" in page
    assert "needs a check-in" in page and "silent" in page and "completed" in page
    assert "none yet" in page  # the pair that never wrote


def test_pairs_can_be_filtered_by_health(staff, program_id, four_pairs):
    page = text(staff.get(f"/admin/programs/{program_id}/pairs?health=silent"))
    assert "quiet_mentor" in page and "on_mentor" not in page and "check_mentor" not in page


def test_the_pairs_page_reads_every_pair_and_both_names_in_one_query(
    sessions, program_id, four_pairs
):
    with reading(sessions) as db:
        prog = db.get(Program, program_id)
        statements: list[str] = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.get_bind(), "before_cursor_execute", listen)
        try:
            rows = people.pairs(db, prog, utcnow())
            names = [(r.mentor, r.mentee) for r in rows]
        finally:
            event.remove(db.get_bind(), "before_cursor_execute", listen)
    assert names[0] == ("on_mentor", "on_mentee") and len(names) == 4
    assert len(statements) == 1


def test_pairs_can_be_filtered_by_state(staff, program_id, four_pairs):
    page = text(staff.get(f"/admin/programs/{program_id}/pairs?state=completed"))
    assert "done_mentor" in page and "on_mentor" not in page


def test_pairs_export_as_csv(staff, program_id, four_pairs):
    rows = read_csv(staff.get(f"/admin/programs/{program_id}/pairs.csv?health=check-in"))
    assert [(r["mentor"], r["mentee"], r["health"]) for r in rows] == [
        ("check_mentor", "check_mentee", "needs a check-in")
    ]


@pytest.fixture
def rated_pair(sessions, program_id, four_pairs) -> None:
    """The completed pair, rated 5 with a word by its mentor and 2 by its mentee."""
    with reading(sessions) as db:
        done = db.execute(select(Pair).where(Pair.state == "completed")).scalar_one()
    rate(sessions, done.id, "done_mentor", 5, "a joy")
    rate(sessions, done.id, "done_mentee", 2, None)


def test_the_pairs_page_shows_each_pairs_ratings_and_the_average(staff, program_id, rated_pair):
    page = text(staff.get(f"/admin/programs/{program_id}/pairs"))
    assert "mentor: 5/5" in page and "a joy" in page and "mentee: 2/5" in page
    assert "average 3.5 of 5 from 2 ratings" in page


def test_the_pairs_page_still_reads_ratings_in_one_query(sessions, program_id, rated_pair):
    with reading(sessions) as db:
        prog = db.get(Program, program_id)
        statements: list[str] = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.get_bind(), "before_cursor_execute", listen)
        try:
            ratings = [
                (r.mentor_feedback, r.mentee_feedback) for r in people.pairs(db, prog, utcnow())
            ]
        finally:
            event.remove(db.get_bind(), "before_cursor_execute", listen)
    assert [(m.rating, e.rating) for m, e in ratings if m and e] == [(5, 2)]
    assert len(statements) == 1


def test_the_pairs_export_carries_ratings_and_comments(staff, program_id, rated_pair):
    rows = read_csv(staff.get(f"/admin/programs/{program_id}/pairs.csv?state=completed"))
    assert [
        (r["mentor_rating"], r["mentor_comment"], r["mentee_rating"], r["mentee_comment"])
        for r in rows
    ] == [("5", "a joy", "2", "")]


# -- reports ----------------------------------------------------------------------------------


def add_report(sessions, program_id, text_: str, state="open") -> int:
    mentor = add_signup(sessions, program_id, f"m{text_[:3]}", "mentor")
    mentee = add_signup(sessions, program_id, f"e{text_[:3]}", "mentee")
    pair_id = make_pair(sessions, program_id, mentor, mentee, days_ago=1)
    with transaction(sessions) as db:
        reporter = db.get(Signup, mentee).member_id
        report = Report(program_id=program_id, pair_id=pair_id, reporter_id=reporter, text=text_)
        report.state = state
        db.add(report)
        db.flush()
        return report.id


def test_open_reports_are_listed_and_can_be_resolved(staff, sessions, program_id):
    rid = add_report(sessions, program_id, "rude replies")
    assert "rude replies" in text(staff.get(f"/admin/programs/{program_id}/reports"))
    post(staff, f"/admin/programs/{program_id}/reports/{rid}/resolve")
    assert "rude replies" not in text(staff.get(f"/admin/programs/{program_id}/reports"))
    assert "rude replies" in text(staff.get(f"/admin/programs/{program_id}/reports?state=resolved"))


def test_a_report_of_another_program_cannot_be_resolved_here(staff, sessions, forum, program_id):
    other = make_program(sessions, forum.id, title="Other")
    rid = add_report(sessions, other, "elsewhere")
    assert post(staff, f"/admin/programs/{program_id}/reports/{rid}/resolve").status_code == 404


# -- forum settings ---------------------------------------------------------------------------


def test_settings_are_rendered_from_the_manifest(staff):
    page = text(staff.get("/admin/forum/settings"))
    for key in manifest()["forums"]["discourse"]["settings"]:
        assert f'name="{key}"' in page


def test_settings_show_secrets_masked_never_their_values(staff):
    page = text(staff.get("/admin/forum/settings"))
    assert "test-key" not in page and SECRET not in page and CONNECT_SECRET not in page
    assert page.count("••••••••") == 3
    assert 'type="password" id="api_key" name="api_key" value=""' in page


def test_saving_settings_with_blank_secrets_keeps_them(staff, sessions):
    page = "/admin/forum/settings"
    response = post(staff, page, settings_form(request_budget_per_minute="30"), page)
    forum = stored_forum(sessions)
    assert response.status_code == 303 and forum.request_budget == 30
    assert (forum.api_key, forum.webhook_secret) == ("test-key", SECRET)


def test_a_new_secret_replaces_the_stored_one_and_is_not_echoed(staff, sessions):
    page = "/admin/forum/settings"
    post(staff, page, settings_form(api_key="a-brand-new-key"), page)
    assert stored_forum(sessions).api_key == "a-brand-new-key"
    assert "a-brand-new-key" not in text(staff.get(page))


def test_an_invalid_setting_saves_nothing(staff, sessions):
    page = "/admin/forum/settings"
    form = settings_form(request_budget_per_minute="0", url="http://elsewhere.example")
    response = post(staff, page, form, page)
    assert response.status_code == 400 and "must be at least 1" in text(response)
    assert stored_forum(sessions).url == "http://127.0.0.1:9"


def test_a_program_admin_cannot_see_the_forum_settings(pat):
    assert pat.get("/admin/forum/settings").status_code == 403
