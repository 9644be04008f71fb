"""What the sign-ups, pairs and reports pages read (one query each, no N+1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from plugin.domain.programs import service
from plugin.forums import registry
from plugin.storage.models import Feedback, Forum, Member, Pair, Program, Report, Signup
from plugin.storage.states import PairState, ReportState, SignupState
from plugin.web.admin.health import health

SIGNUP_STATES = tuple(SignupState)
# The sign-ups page's default: who has not been paired yet, profile done or not.
WAITING = (SignupState.PENDING, SignupState.READY)
# Whoever finished the profile and has not left: ready, paired, or a completed mentee.
PROFILE_DONE = (SignupState.READY, SignupState.PAIRED, SignupState.COMPLETED)
PROFILE_DONE_CHOICE = "profile done"  # the sign-ups page's filter for PROFILE_DONE
PAIR_STATES = tuple(PairState)
REPORT_STATES = tuple(ReportState)
RUNNING = (PairState.ACTIVE, PairState.PAUSED)  # the pairs the schedule still moves along
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
    mentor_feedback: Feedback | None = None
    mentee_feedback: Feedback | None = None


def rating_summary(db: Session, program: Program) -> tuple[float | None, int]:
    """The average of every rating given in the program (None if none yet), and how many."""
    average, count = db.execute(
        select(func.avg(Feedback.rating), func.count(Feedback.id))
        .join(Pair, Feedback.pair_id == Pair.id)
        .where(Pair.program_id == program.id)
    ).one()
    return (float(average) if average is not None else None), int(count)


def thread_links(forum: Forum) -> Callable[[str | None], str | None]:
    """A pair's thread -> its address on the forum, or None (no thread yet, or no URL shape)."""
    kind = registry.kind_of(forum.kind)
    build = kind.thread_url if kind else None

    def link(thread: str | None) -> str | None:
        return build(forum.url, thread) if build and thread and forum.url else None

    return link


def running_pairs(db: Session, program: Program) -> int:
    """How many of the program's pairs are running (active or paused)."""
    return db.execute(
        select(func.count())
        .select_from(Pair)
        .where(Pair.program_id == program.id, Pair.state.in_(RUNNING))
    ).scalar_one()


def pairs(db: Session, program: Program, now: datetime) -> list[PairRow]:
    """The program's pairs with both usernames, their ratings and their health at `now`."""
    mentor, mentee = aliased(Signup), aliased(Signup)
    by_mentor, by_mentee = aliased(Feedback), aliased(Feedback)
    rows = db.execute(
        select(Pair, by_mentor, by_mentee)
        .options(
            joinedload(Pair.mentor).joinedload(Signup.member),
            joinedload(Pair.mentee).joinedload(Signup.member),
        )
        .join(mentor, Pair.mentor_id == mentor.id)
        .join(mentee, Pair.mentee_id == mentee.id)
        .outerjoin(
            by_mentor, and_(by_mentor.pair_id == Pair.id, by_mentor.member_id == mentor.member_id)
        )
        .outerjoin(
            by_mentee, and_(by_mentee.pair_id == Pair.id, by_mentee.member_id == mentee.member_id)
        )
        .where(Pair.program_id == program.id)
        .order_by(Pair.id)
    ).all()
    total = len(service.steps(program))
    return [
        PairRow(
            p,
            p.mentor.member.username or GONE,
            p.mentee.member.username or GONE,
            total,
            health(p, program.cadence_days, now),
            mentor_feedback,
            mentee_feedback,
        )
        for p, mentor_feedback, mentee_feedback in rows
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
