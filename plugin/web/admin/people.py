"""What the sign-ups, pairs and reports pages read (one query each, no N+1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from plugin.domain.programs import service
from plugin.storage.models import Member, Pair, Program, Report, Signup
from plugin.web.admin.health import health

SIGNUP_STATES = ("pending", "ready", "paired", "withdrawn")
WAITING = ("pending", "ready")
PAIR_STATES = ("active", "paused", "ended", "completed")
REPORT_STATES = ("open", "resolved")
GONE = "(erased)"


def signups(db: Session, program: Program, states: tuple[str, ...]) -> list[tuple[Signup, Member]]:
    """The program's sign-ups in these states, each with its member."""
    return list(
        db.execute(
            select(Signup, Member)
            .join(Member, Signup.member_id == Member.id)
            .where(Signup.program_id == program.id, Signup.state.in_(states))
            .order_by(Signup.role, Signup.id)
        ).all()
    )


@dataclass(frozen=True)
class PairRow:
    pair: Pair
    mentor: str
    mentee: str
    steps: int
    health: str


def pairs(db: Session, program: Program, now: datetime) -> list[PairRow]:
    """The program's pairs with both usernames and their health at `now`."""
    mentor_s, mentee_s = aliased(Signup), aliased(Signup)
    mentor_m, mentee_m = aliased(Member), aliased(Member)
    rows = db.execute(
        select(Pair, mentor_m.username, mentee_m.username)
        .join(mentor_s, Pair.mentor_id == mentor_s.id)
        .join(mentor_m, mentor_s.member_id == mentor_m.id)
        .join(mentee_s, Pair.mentee_id == mentee_s.id)
        .join(mentee_m, mentee_s.member_id == mentee_m.id)
        .where(Pair.program_id == program.id)
        .order_by(Pair.id)
    ).all()
    total = len(service.steps(program))
    return [
        PairRow(p, mentor or GONE, mentee or GONE, total, health(p, program.cadence_days, now))
        for p, mentor, mentee in rows
    ]


@dataclass(frozen=True)
class ReportRow:
    report: Report
    reporter: str


def reports(db: Session, program: Program, state: str) -> list[ReportRow]:
    """The program's reports in this state, newest first, with who reported."""
    rows = db.execute(
        select(Report, Member.username)
        .join(Member, Report.reporter_id == Member.id)
        .where(Report.program_id == program.id, Report.state == state)
        .order_by(Report.id.desc())
    ).all()
    return [ReportRow(r, name or GONE) for r, name in rows]
