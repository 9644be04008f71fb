"""A pair as `mentorship status` shows it, ratings included."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.domain.pairs import members_of
from plugin.storage.models import Feedback, Pair


def describe(session: Session, pair: Pair) -> dict:
    """A pair as `mentorship status` shows it."""
    mentor, mentee = members_of(session, pair)
    return {
        "id": pair.id,
        "mentor": mentor.username,
        "mentee": mentee.username,
        "state": pair.state,
        "thread": pair.thread,
        "step": pair.step_posted,
        "last_activity_at": pair.last_activity_at.isoformat() if pair.last_activity_at else None,
        "nudges": pair.nudges,
        "paired_at": pair.paired_at.isoformat(),
        "end_reason": pair.end_reason,
        "feedback": {
            side: row.rating if row else None for side, row in ratings(session, pair).items()
        },
    }


def ratings(session: Session, pair: Pair) -> dict[str, Feedback | None]:
    """Each side's rating of the pair ("mentor", "mentee"), or None before they rate."""
    rows = session.execute(select(Feedback).where(Feedback.pair_id == pair.id)).scalars()
    by_member = {row.member_id: row for row in rows}
    return {
        "mentor": by_member.get(pair.mentor.member_id),
        "mentee": by_member.get(pair.mentee.member_id),
    }
