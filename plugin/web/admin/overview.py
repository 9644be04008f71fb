"""The index's numbers per program: sign-ups, who waits, active pairs, open reports.

Each number is one GROUP BY over all the listed programs, so the index costs the same
three queries whether an admin has one program or fifty.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from plugin.storage.models import Pair, Report, Signup
from plugin.storage.states import PairState, ReportState, SignupState
from plugin.web.admin.people import PROFILE_DONE


@dataclass(frozen=True)
class Counts:
    """What the index shows of one program; each number matches the page it links to."""

    signups: int = 0  # profile done (PROFILE_DONE)
    waiting: int = 0  # ready: profile done, not paired yet
    active_pairs: int = 0  # pairs in state active (paused ones are not counted)
    open_reports: int = 0


def _grouped(db: Session, statement: Select) -> dict[int, tuple[int, ...]]:
    """{program id: the counts} from a statement selecting (program id, count, ...)."""
    return {row[0]: tuple(int(n) for n in row[1:]) for row in db.execute(statement)}


def program_counts(db: Session, program_ids: Collection[int]) -> dict[int, Counts]:
    """Counts for each of these programs (zeros for a program with nothing yet)."""
    if not program_ids:
        return {}
    ids = list(program_ids)
    signups = _grouped(
        db,
        select(
            Signup.program_id,
            func.count(case((Signup.state.in_(PROFILE_DONE), 1))),
            func.count(case((Signup.state == SignupState.READY, 1))),
        )
        .where(Signup.program_id.in_(ids))
        .group_by(Signup.program_id),
    )
    pairs = _grouped(
        db,
        select(Pair.program_id, func.count())
        .where(Pair.program_id.in_(ids), Pair.state == PairState.ACTIVE)
        .group_by(Pair.program_id),
    )
    reports = _grouped(
        db,
        select(Report.program_id, func.count())
        .where(Report.program_id.in_(ids), Report.state == ReportState.OPEN)
        .group_by(Report.program_id),
    )
    return {
        i: Counts(*signups.get(i, (0, 0)), *pairs.get(i, (0,)), *reports.get(i, (0,))) for i in ids
    }
