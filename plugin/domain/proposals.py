"""`mentorship match`: everyone waiting in a program, through the exact matching engine."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.domain.expertise import expertise_of
from plugin.domain.matching import Candidate, MatchResult, match, normalise_topics
from plugin.domain.pairs import (
    active_count,
    blocked_member_pairs,
    create_pair,
    is_waiting_mentee,
    waiting,
)
from plugin.forums.connections import InputError
from plugin.storage.models import Member, Pair, Program, Signup, utcnow


def _offset_minutes(tz_name: str | None, at: datetime) -> int:
    """The zone's offset from UTC at `at`, in minutes (UTC when unknown)."""
    offset = at.astimezone(ZoneInfo(tz_name or "UTC")).utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


def _candidates(
    session: Session, people: list[tuple[Signup, Member]], now: datetime
) -> tuple[list[Candidate], list[Candidate]]:
    """The mentors with room left, and the mentees still waiting, as matching candidates."""
    known = expertise_of(session, [s.member_id for s, _ in people if s.role == "mentor"])
    active_in = {
        member_id: frozenset(name for name, posts in e.top_categories if posts > 0)
        for member_id, e in known.items()
    }
    mentors = [
        Candidate(
            id=s.id,
            topics=normalise_topics(s.topics or ""),
            utc_offset_minutes=_offset_minutes(s.timezone, now),
            capacity=max(0, s.capacity - active_count(session, s)),
            expertise=active_in.get(s.member_id, frozenset()),
        )
        for s, _ in people
        if s.role == "mentor"
    ]
    mentees = [
        Candidate(
            id=s.id,
            topics=normalise_topics(s.topics or ""),
            utc_offset_minutes=_offset_minutes(s.timezone, now),
            priority=s.priority,
        )
        for s, _ in people
        if is_waiting_mentee(s)
    ]
    return mentors, mentees


def _forbidden(
    session: Session,
    program: Program,
    mentors: list[Candidate],
    mentees: list[Candidate],
    member_of: dict[int, int],
) -> set[tuple[int, int]]:
    """Sign-up pairs that may not be proposed: paired before, blocked, or one person."""
    forbidden = {
        (p.mentor_id, p.mentee_id)
        for p in session.execute(select(Pair).where(Pair.program_id == program.id)).scalars()
    }
    # A block holds in every program of the forum.
    blocked = blocked_member_pairs(session, program.forum_id)
    forbidden |= {
        (a.id, b.id)
        for a in mentors
        for b in mentees
        if (member_of[a.id], member_of[b.id]) in blocked
    }
    # Nobody mentors themselves, even when signed up in both roles.
    forbidden |= {
        (a.id, b.id) for a in mentors for b in mentees if member_of[a.id] == member_of[b.id]
    }
    return forbidden


def _as_proposals(result: MatchResult, names: dict[int, str | None]) -> dict:
    """The matching's outcome as {"pairs": [...], "unmatched": [...]}, by username."""
    return {
        "pairs": [
            {
                "mentor": names[p.mentor_id],
                "mentee": names[p.mentee_id],
                "score": p.score,
                "reasons": [r.text for r in p.reasons],
                "mentor_signup": p.mentor_id,
                "mentee_signup": p.mentee_id,
            }
            for p in result.pairs
        ],
        "unmatched": [names[i] for i in result.unmatched_mentees],
    }


def propose(session: Session, program: Program, *, max_tz_gap_hours: float | None = None) -> dict:
    """Proposals as {"pairs": [...], "unmatched": [...]}, best matching first by the rules.

    `max_tz_gap_hours` (the admin pages' option) leaves out pairs further apart than that.
    """
    if program.state != "open":
        raise InputError(f"program {program.id} is {program.state}: matching is for open programs")
    now = utcnow()
    people = waiting(session, program)
    names = {s.id: m.username for s, m in people}
    member_of = {s.id: s.member_id for s, _ in people}
    mentors, mentees = _candidates(session, people, now)
    forbidden = _forbidden(session, program, mentors, mentees, member_of)
    result = match(mentors, mentees, forbidden=forbidden, max_tz_gap_hours=max_tz_gap_hours)
    return _as_proposals(result, names)


def apply_proposals(session: Session, program: Program, proposals: dict, now: datetime) -> None:
    """Create every proposed pair (each checked by the same rules as `mentorship pair`)."""
    for p in proposals["pairs"]:
        create_pair(
            session,
            program,
            session.get_one(Signup, p["mentor_signup"]),
            session.get_one(Signup, p["mentee_signup"]),
            now,
        )
