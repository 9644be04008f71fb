"""Sign-ups (who is waiting, their answers), pairs (health, filters), reports; CSV exports."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from plugin.domain import requests as mentor_requests
from plugin.forums import registry
from plugin.storage.db import reading, transaction
from plugin.storage.models import Feedback, Forum, Program, Report, utcnow
from plugin.storage.states import ReportState, Role
from plugin.web.admin import people
from plugin.web.admin.auth import signed_in_admin
from plugin.web.admin.csvout import csv_response
from plugin.web.admin.health import HEALTHS, SLUGS
from plugin.web.admin.programs import program_for
from plugin.web.admin.views import bp, page, services
from plugin.web.lang import gettext


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


# -- sign-ups ----------------------------------------------------------------------------------


def _signup_states() -> tuple[tuple[str, ...], str]:
    wanted = request.args.get("state", "waiting")
    if wanted == "all":
        return people.SIGNUP_STATES, wanted
    if wanted == people.PROFILE_DONE_CHOICE:
        return people.PROFILE_DONE, wanted
    if wanted in people.SIGNUP_STATES:
        return (wanted,), wanted
    return people.WAITING, "waiting"


@bp.get("/programs/<int:program_id>/signups")
def signups(program_id: int) -> ResponseReturnValue:
    """The program's sign-ups in the chosen states."""
    states, chosen = _signup_states()
    with reading(services().sessions) as db:
        program = program_for(db, signed_in_admin(), program_id)
        rows = people.signups(db, program, states)
    return page(
        "signups.html",
        program=program,
        rows=rows,
        chosen=chosen,
        choices=("waiting", *people.SIGNUP_STATES, people.PROFILE_DONE_CHOICE, "all"),
    )


@bp.get("/programs/<int:program_id>/signups.csv")
def signups_csv(program_id: int) -> ResponseReturnValue:
    """Every sign-up of the program, as CSV."""
    with reading(services().sessions) as db:
        program = program_for(db, signed_in_admin(), program_id)
        rows = people.signups(db, program, people.SIGNUP_STATES)
    header = ["user", "name", "role", "state", "topics", "timezone", "capacity"]
    header += ["age_confirmed", "about", "signed_up_at", "ready_at"]
    return csv_response(
        f"program-{program_id}-signups.csv",
        header,
        (
            [
                m.username or people.GONE,
                m.name,
                s.role,
                s.state,
                s.topics,
                s.timezone,
                s.capacity if s.role == Role.MENTOR else "",
                "yes" if s.age_confirmed else "no",
                s.about,
                _iso(s.created_at),
                _iso(s.ready_at),
            ]
            for s, m in rows
        ),
    )


def _rating_cells(feedback: Feedback | None) -> list[object]:
    return [feedback.rating, feedback.comment or ""] if feedback else ["", ""]


# -- pairs -------------------------------------------------------------------------------------


def _filtered_pairs(db: Session, program: Program) -> tuple[list[people.PairRow], str, str]:
    rows = people.pairs(db, program, utcnow())
    state = request.args.get("state", "")
    wanted_health = {slug: name for name, slug in SLUGS.items()}.get(request.args.get("health", ""))
    if state in people.PAIR_STATES:
        rows = [r for r in rows if r.pair.state == state]
    if wanted_health:
        rows = [r for r in rows if r.health == wanted_health]
    return rows, state, request.args.get("health", "")


@bp.get("/programs/<int:program_id>/pairs")
def pairs(program_id: int) -> ResponseReturnValue:
    """The program's pairs, filtered by state and health."""
    with reading(services().sessions) as db:
        program = program_for(db, signed_in_admin(), program_id)
        rows, state, health = _filtered_pairs(db, program)
        average, rated = people.rating_summary(db, program)
        forum = db.get_one(Forum, program.forum_id)
        thread_link = people.thread_links(forum)
        kind = registry.kind_of(forum.kind)
        # Self-service: who asked whom and has no answer yet; an admin may still pair them.
        open_requests = mentor_requests.listed(db, program, open_only=True)
    return page(
        "pairs.html",
        program=program,
        rows=rows,
        open_requests=open_requests,
        thread_link=thread_link,
        thread_note=kind.thread_url_note if kind else "",
        average=average,
        rated=rated,
        state=state,
        health=health,
        states=people.PAIR_STATES,
        healths=[(SLUGS[h], h) for h in HEALTHS],
    )


@bp.get("/programs/<int:program_id>/pairs.csv")
def pairs_csv(program_id: int) -> ResponseReturnValue:
    """The pairs the pairs page shows with the same filters, as CSV."""
    with reading(services().sessions) as db:
        program = program_for(db, signed_in_admin(), program_id)
        rows, _, _ = _filtered_pairs(db, program)
    header = ["id", "mentor", "mentee", "state", "step", "steps", "health", "paired_at"]
    header += ["last_activity_at", "nudges", "ended_at", "end_reason", "thread"]
    header += ["mentor_rating", "mentor_comment", "mentee_rating", "mentee_comment"]
    return csv_response(
        f"program-{program_id}-pairs.csv",
        header,
        (
            [
                r.pair.id,
                r.mentor,
                r.mentee,
                r.pair.state,
                r.pair.step_posted,
                r.steps,
                r.health,
                _iso(r.pair.paired_at),
                _iso(r.pair.last_activity_at),
                r.pair.nudges,
                _iso(r.pair.ended_at),
                r.pair.end_reason,
                r.pair.thread,
                *_rating_cells(r.mentor_feedback),
                *_rating_cells(r.mentee_feedback),
            ]
            for r in rows
        ),
    )


# -- reports -----------------------------------------------------------------------------------


@bp.get("/programs/<int:program_id>/reports")
def reports(program_id: int) -> ResponseReturnValue:
    """The program's reports in one state (open unless asked otherwise)."""
    state = request.args.get("state", ReportState.OPEN)
    state = state if state in people.REPORT_STATES else ReportState.OPEN
    with reading(services().sessions) as db:
        program = program_for(db, signed_in_admin(), program_id)
        rows = people.reports(db, program, state)
        link = people.thread_links(db.get_one(Forum, program.forum_id))
        names = {
            r.pair.id: (r.mentor, r.mentee, link(r.pair.thread))
            for r in people.pairs(db, program, utcnow())
        }
    return page(
        "reports.html",
        program=program,
        rows=rows,
        state=state,
        states=people.REPORT_STATES,
        names=names,
    )


@bp.post("/programs/<int:program_id>/reports/<int:report_id>/resolve")
def report_resolve(program_id: int, report_id: int) -> ResponseReturnValue:
    """Mark one of the program's reports resolved."""
    with transaction(services().sessions) as db:
        program_for(db, signed_in_admin(), program_id)
        report = db.get(Report, report_id)
        if report is None or report.program_id != program_id:
            abort(404, gettext("There is no such report in this program."))
        report.state = ReportState.RESOLVED
    flash(gettext("Report %(id)s is resolved.", id=report_id))
    return redirect(url_for("admin.reports", program_id=program_id), 303)
