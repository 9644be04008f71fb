"""Proposed pairings kept as a draft until an admin accepts them, one by one or all.

The draft comes from `plugin.domain.proposals.propose`, the same code (and exact engine) as
`mentorship match`; accepting goes through `plugin.domain.pairs.create_pair`, which checks every
rule again, so a draft that went stale (someone withdrew, was paired by hand) is safe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, joinedload

from plugin.domain.matching.scoring import EXPERTISE_REASON
from plugin.domain.pairs import create_pair
from plugin.domain.proposals import propose
from plugin.forums.connections import InputError
from plugin.storage.models import Program, ProposalDraft, ProposalItem, Signup
from plugin.storage.states import ProposalState

MAX_TZ_GAP_HOURS = 12.0  # no two UTC offsets are further apart (matching/scoring.py)


def make_draft(
    db: Session,
    program: Program,
    created_by: str,
    max_tz_gap_hours: float | None,
    *,
    created_by_id: int | None = None,
) -> ProposalDraft:
    """Propose pairings for everyone waiting now; it replaces the program's last draft."""
    result = propose(db, program, max_tz_gap_hours=max_tz_gap_hours)
    db.execute(delete(ProposalDraft).where(ProposalDraft.program_id == program.id))
    draft = ProposalDraft(
        program_id=program.id,
        created_by=created_by,
        created_by_id=created_by_id,
        max_tz_gap_hours=max_tz_gap_hours,
    )
    db.add(draft)
    db.flush()
    for p in result["pairs"]:
        db.add(
            ProposalItem(
                draft_id=draft.id,
                mentor_signup_id=p["mentor_signup"],
                mentee_signup_id=p["mentee_signup"],
                score=p["score"],
                reasons=json.dumps(p["reasons"]),
                state=ProposalState.PROPOSED,
            )
        )
    db.flush()
    return draft


@dataclass(frozen=True)
class Reason:
    label: str
    text: str


def _reason(text: str) -> Reason:
    # propose() keeps the engine's reason texts only: shared topics ("python, careers") and
    # the time-zone gap ("same time zone" / "3 h apart"), which is always the last one,
    # and forum expertise ("forum activity in Algebra": the categories are the forum's names).
    if text.startswith(EXPERTISE_REASON):  # first: a category's name may end in "apart"
        return Reason("Forum activity", text.removeprefix(EXPERTISE_REASON))
    if text == "same time zone" or text.endswith(" apart"):
        return Reason("Time zones", text)
    return Reason("Shared topics", text)


@dataclass(frozen=True)
class Row:
    item: ProposalItem
    mentor: str
    mentee: str
    reasons: list[Reason]


def current(db: Session, program: Program) -> tuple[ProposalDraft | None, list[Row]]:
    """The program's draft and its rows, best score first."""
    draft = db.execute(
        select(ProposalDraft)
        .where(ProposalDraft.program_id == program.id)
        .order_by(ProposalDraft.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if draft is None:
        return None, []
    items = db.execute(
        select(ProposalItem)
        .options(
            joinedload(ProposalItem.mentor_signup).joinedload(Signup.member),
            joinedload(ProposalItem.mentee_signup).joinedload(Signup.member),
        )
        .where(ProposalItem.draft_id == draft.id)
        .order_by(ProposalItem.score.desc(), ProposalItem.id)
    ).scalars()
    return draft, [
        Row(
            item,
            item.mentor_signup.member.username or "(erased)",
            item.mentee_signup.member.username or "(erased)",
            [_reason(t) for t in json.loads(item.reasons)],
        )
        for item in items
    ]


def item_of(db: Session, program: Program, item_id: int) -> ProposalItem | None:
    """A proposal of this program's draft, or None."""
    return db.execute(
        select(ProposalItem)
        .join(ProposalDraft, ProposalItem.draft_id == ProposalDraft.id)
        .where(ProposalItem.id == item_id, ProposalDraft.program_id == program.id)
    ).scalar_one_or_none()


def accept(db: Session, program: Program, item: ProposalItem, now: datetime) -> bool:
    """Pair the two; False (and the reason in `item.note`) when a rule now forbids it."""
    if item.state != ProposalState.PROPOSED:
        return item.state == ProposalState.ACCEPTED
    mentor, mentee = item.mentor_signup, item.mentee_signup
    try:
        with db.begin_nested():  # a refused pair leaves nothing half-written behind
            create_pair(db, program, mentor, mentee, now)
    except InputError as exc:
        item.state, item.note = ProposalState.REFUSED, str(exc)[:300]
        return False
    item.state, item.note = ProposalState.ACCEPTED, None
    return True


def accept_all(
    db: Session, program: Program, draft: ProposalDraft, now: datetime
) -> tuple[int, int]:
    """Accept every open proposal of the draft: (accepted, refused)."""
    items = db.execute(
        select(ProposalItem)
        .where(ProposalItem.draft_id == draft.id, ProposalItem.state == ProposalState.PROPOSED)
        .order_by(ProposalItem.score.desc(), ProposalItem.id)
    ).scalars()
    done = [accept(db, program, item, now) for item in items]
    return sum(done), len(done) - sum(done)


def paired_signups(db: Session, draft: ProposalDraft) -> set[int]:
    """The sign-ups the draft's accepted proposals paired."""
    rows = db.execute(
        select(ProposalItem.mentor_signup_id, ProposalItem.mentee_signup_id).where(
            ProposalItem.draft_id == draft.id, ProposalItem.state == ProposalState.ACCEPTED
        )
    )
    return {signup_id for pair in rows for signup_id in pair}


def forget_signups(db: Session, signup_ids: list[int]) -> None:
    """Drop proposals naming these sign-ups (for erasure: reasons quote their topics)."""
    db.execute(
        delete(ProposalItem).where(
            or_(
                ProposalItem.mentor_signup_id.in_(signup_ids),
                ProposalItem.mentee_signup_id.in_(signup_ids),
            )
        )
    )
