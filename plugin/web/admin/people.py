"""What the sign-ups, pairs and reports pages read (one query each, no N+1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from plugin.domain.programs import service
from plugin.storage.models import Member, Pair, Program, Report, Signup
from plugin.storage.states import PairState, ReportState, SignupState
from plugin.web.admin.health import health

SIGNUP_STATES = tuple(SignupState)
# The sign-ups page's default: who has not been paired yet, profile done or not.
WAITING = (SignupState.PENDING, SignupState.READY)
PAIR_STATES = tuple(PairState)
REPORT_STATES = tuple(ReportState)
GONE = "(erased)"


def signups(db: Session, program: Program, states: tuple[str, ...]) -> list[tuple[Signup, Member]]:
    """The program's sign-ups in these states, each with its member."""
    return list(
        db.execute(
            select(Signup, Member)
            .join(Signup.member)
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
    rows = db.execute(
        select(Pair)
        .options(
            joinedload(Pair.mentor).joinedload(Signup.member),
            joinedload(Pair.mentee).joinedload(Signup.member),
        )
        .where(Pair.program_id == program.id)
        .order_by(Pair.id)
    ).scalars()
    total = len(service.steps(program))
    return [
        PairRow(
            p,
            p.mentor.member.username or GONE,
            p.mentee.member.username or GONE,
            total,
            health(p, program.cadence_days, now),
        )
        for p in rows
    ]


@dataclass(frozen=True)
class ReportRow:
    report: Report
    reporter: str


def reports(db: Session, program: Program, state: str) -> list[ReportRow]:
    """The program's reports in this state, newest first, with who reported."""
    rows = db.execute(
        select(Report, Member.username)
        .join(Report.reporter)
        .where(Report.program_id == program.id, Report.state == state)
        .order_by(Report.id.desc())
    ).all()
    return [ReportRow(r, name or GONE) for r, name in rows]
