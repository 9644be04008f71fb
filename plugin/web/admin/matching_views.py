"""Matching: propose a draft (optional maximum time-zone gap), accept one or all, pair by hand."""

from __future__ import annotations

import math
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from plugin.domain import drafts
from plugin.domain.pairs import active_count, create_pair, is_waiting_mentee, waiting
from plugin.domain.unmatched import tell_unmatched
from plugin.forums.connections import InputError
from plugin.storage.db import reading, transaction
from plugin.storage.models import Program, Signup, utcnow
from plugin.storage.states import ProposalState, Role
from plugin.web.admin.auth import signed_in_admin
from plugin.web.admin.programs import program_for
from plugin.web.admin.views import bp, page, services
from plugin.web.lang import gettext, ngettext


def _back(program_id: int) -> ResponseReturnValue:
    return redirect(url_for("admin.matching", program_id=program_id), 303)


def _hand_choices(db: Session, program: Program) -> tuple[list[Any], list[Any]]:
    """Who can be paired by hand: mentors with room, mentees who are ready."""
    rows = waiting(db, program, by_username=True)
    mentors = [
        (s, m) for s, m in rows if s.role == Role.MENTOR and active_count(db, s) < s.capacity
    ]
    mentees = [(s, m) for s, m in rows if is_waiting_mentee(s)]
    return mentors, mentees


@bp.get("/programs/<int:program_id>/matching")
def matching(program_id: int) -> ResponseReturnValue:
    """The draft of proposed pairings, and who can be paired by hand."""
    with reading(services().sessions) as db:
        program = program_for(db, signed_in_admin(), program_id)
        draft, rows = drafts.current(db, program)
        mentors, mentees = _hand_choices(db, program)
        proposed = {r.item.mentee_signup_id for r in rows if r.item.state == ProposalState.PROPOSED}
        unproposed = [m for s, m in mentees if s.id not in proposed]
    return page(
        "matching.html",
        program=program,
        draft=draft,
        rows=rows,
        open_rows=sum(r.item.state == ProposalState.PROPOSED for r in rows),
        mentors=mentors,
        mentees=mentees,
        waiting=unproposed,
        max_gap=drafts.MAX_TZ_GAP_HOURS,
    )


def _gap(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= drafts.MAX_TZ_GAP_HOURS:
        abort(
            400,
            gettext(
                "The time-zone gap must be a number of hours from 0 to 12, not %(text)s.",
                text=repr(text),
            ),
        )
    return value


@bp.post("/programs/<int:program_id>/matching/propose")
def matching_propose(program_id: int) -> ResponseReturnValue:
    """Propose pairings for those waiting, within the chosen time-zone gap."""
    gap = _gap(request.form.get("max_tz_gap_hours", ""))
    admin = signed_in_admin()
    with transaction(services().sessions) as db:
        program = program_for(db, admin, program_id)
        try:
            drafts.make_draft(db, program, admin.username, gap, created_by_id=admin.user_id)
        except InputError as exc:
            abort(409, str(exc))
    flash(gettext("New proposals are ready. Nothing is paired until you accept."))
    return _back(program_id)


@bp.post("/programs/<int:program_id>/matching/accept/<int:item_id>")
def matching_accept(program_id: int, item_id: int) -> ResponseReturnValue:
    """Accept one proposed pairing: the pair is created."""
    with transaction(services().sessions) as db:
        program = program_for(db, signed_in_admin(), program_id)
        item = drafts.item_of(db, program, item_id)
        if item is None:
            abort(404, gettext("That proposal is not in this program's draft any more."))
        ok = drafts.accept(db, program, item, utcnow())
        note = item.note
    flash(
        gettext("Paired. The bot opens their private thread shortly.")
        if ok
        else gettext("Not paired: %(why)s", why=note)
    )
    return _back(program_id)


@bp.post("/programs/<int:program_id>/matching/accept-all")
def matching_accept_all(program_id: int) -> ResponseReturnValue:
    """Accept every pairing the draft still proposes."""
    with transaction(services().sessions) as db:
        program = program_for(db, signed_in_admin(), program_id)
        draft, _ = drafts.current(db, program)
        if draft is None:
            abort(409, gettext("There are no proposals to accept; propose pairings first."))
        accepted, refused = drafts.accept_all(db, program, draft, utcnow())
        # Keyed by the draft: accepting it again (a double click) tells nobody twice.
        told = tell_unmatched(db, program, drafts.paired_signups(db, draft), f"draft-{draft.id}")
    text = ngettext("%(num)d pair created.", "%(num)d pairs created.", accepted)
    if refused:
        more = ngettext(
            "%(num)d could not be paired; see the notes.",
            "%(num)d could not be paired; see the notes.",
            refused,
        )
        text = f"{text} {more}"
    if told:
        waiting = ngettext(
            "%(num)d member still waiting will hear so privately.",
            "%(num)d members still waiting will hear so privately.",
            told,
        )
        text = f"{text} {waiting}"
    flash(text)
    return _back(program_id)


def _signup_id(name: str) -> int:
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        abort(400, gettext("Choose a mentor.") if name == "mentor" else gettext("Choose a mentee."))


@bp.post("/programs/<int:program_id>/matching/pair")
def matching_pair(program_id: int) -> ResponseReturnValue:
    """Pair a mentor and a mentee chosen by hand."""
    mentor_id, mentee_id = _signup_id("mentor"), _signup_id("mentee")
    with transaction(services().sessions) as db:
        program = program_for(db, signed_in_admin(), program_id)
        mentor, mentee = db.get(Signup, mentor_id), db.get(Signup, mentee_id)
        if (
            mentor is None
            or mentee is None
            or {mentor.program_id, mentee.program_id} != {program.id}
            or (mentor.role, mentee.role) != (Role.MENTOR, Role.MENTEE)
        ):
            abort(400, gettext("Choose a mentor and a mentee of this program."))
        try:
            create_pair(db, program, mentor, mentee, utcnow())
        except InputError as exc:
            message = gettext("Not paired: %(why)s", why=str(exc))
        else:
            message = gettext("Paired. The bot opens their private thread shortly.")
    flash(message)
    return _back(program_id)
