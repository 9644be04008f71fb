"""A mentor's forum expertise: read from the forum within its budget, kept, and shown.

The periodic job reads the forum's record of each ready mentor once soon after their sign-up
completes and again at most weekly, a few members per pass, each call taking a slot of the
forum's request budget like any other. A failed call keeps what we had and only moves the
next try (sooner for a forum that was down, a week for one that refused).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from babel import Locale
from babel.numbers import format_decimal
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from plugin.config import Config
from plugin.domain.messages import DATE_LOCALES, phrase
from plugin.engine.adapter import (
    BudgetExhausted,
    Expertise,
    ForumAdapter,
    ForumError,
    ForumRateLimited,
)
from plugin.engine.budget import pause_forum
from plugin.engine.clock import Clock
from plugin.i18n import DEFAULT
from plugin.storage.db import insert_ignore_many, transaction
from plugin.storage.expertise import MemberExpertise
from plugin.storage.models import Member, Program, Signup
from plugin.storage.states import ProgramState, Role, SignupState

REFRESH_EVERY = timedelta(days=7)
RETRY_UNAVAILABLE = timedelta(hours=1)  # a 5xx or a timeout: the forum may be back soon
CLAIM_FOR = timedelta(minutes=10)  # another worker leaves a claimed member alone meanwhile
PER_PASS = 5  # members read per pass: a trickle beside the budget's 60 a minute
CATEGORIES_KEPT = 10  # what Discourse lists is already short; never keep an unbounded list


def to_record(expertise: Expertise) -> str:
    """The stored JSON: categories with post counts, likes and accepted answers only."""
    return json.dumps(
        {
            "categories": [list(c) for c in expertise.top_categories[:CATEGORIES_KEPT]],
            "likes": expertise.likes_received,
            "accepted": expertise.accepted_answers,
        },
        ensure_ascii=False,
    )


def from_record(record: str | None) -> Expertise | None:
    """The Expertise a stored record holds, or None when the forum gave none."""
    if not record:
        return None
    data = json.loads(record)
    return Expertise(
        top_categories=tuple((str(name), int(posts)) for name, posts in data["categories"]),
        likes_received=int(data["likes"]),
        accepted_answers=data["accepted"],
    )


def expertise_of(session: Session, member_ids: Iterable[int]) -> dict[int, Expertise]:
    """Member id -> their stored expertise, for those the forum told us about."""
    ids = list(set(member_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(MemberExpertise.member_id, MemberExpertise.record).where(
            MemberExpertise.member_id.in_(ids), MemberExpertise.record.is_not(None)
        )
    )
    found = {member_id: from_record(record) for member_id, record in rows}
    return {k: v for k, v in found.items() if v is not None}


def _claim(session: Session, now: datetime) -> list[tuple[int, int, str]]:
    """Up to PER_PASS due mentors as (member id, forum id, username), claimed for a while."""
    due = session.execute(
        select(Member.id, Member.forum_id, Member.username)
        .join(Signup, Signup.member_id == Member.id)
        .join(Program, Program.id == Signup.program_id)
        .outerjoin(MemberExpertise, MemberExpertise.member_id == Member.id)
        .where(
            Signup.role == Role.MENTOR,
            Signup.state.in_((SignupState.READY, SignupState.PAIRED)),
            Program.state == ProgramState.OPEN,
            Member.erased.is_(False),
            Member.username.is_not(None),
            or_(MemberExpertise.member_id.is_(None), MemberExpertise.due_at <= now),
        )
        .distinct()
        .order_by(Member.id)
        .limit(PER_PASS)
    ).all()
    claimed = [(m, f, str(u)) for m, f, u in due]
    ids = [m for m, _, _ in claimed]
    if ids:
        until = now + CLAIM_FOR
        session.execute(
            update(MemberExpertise).where(MemberExpertise.member_id.in_(ids)).values(due_at=until)
        )
        rows = [{"member_id": m, "record": None, "fetched_at": None, "due_at": until} for m in ids]
        insert_ignore_many(session, MemberExpertise.__table__, rows)
    return claimed


def _next_try(session: Session, member_id: int, at: datetime) -> None:
    """Only when to try again changes: what we knew stays as it was."""
    session.execute(
        update(MemberExpertise).where(MemberExpertise.member_id == member_id).values(due_at=at)
    )


def _read_one(
    factory: sessionmaker[Session],
    adapter: ForumAdapter,
    forum_id: int,
    member: tuple[int, int, str],
    now: datetime,
) -> bool:
    """Read one member's expertise and store it; False when the forum's budget is spent."""
    member_id, _, username = member
    try:
        found = adapter.expertise(username)
    except BudgetExhausted as exc:
        with transaction(factory) as session:
            _next_try(session, member_id, exc.retry_at)
        return False
    except ForumRateLimited as exc:
        until = now + timedelta(seconds=exc.retry_after)
        with transaction(factory) as session:
            pause_forum(session, forum_id, until)
            _next_try(session, member_id, until)
        return False
    except ForumError as exc:
        wait = RETRY_UNAVAILABLE if exc.retryable else REFRESH_EVERY
        with transaction(factory) as session:
            _next_try(session, member_id, now + wait)
        return True
    with transaction(factory) as session:
        session.execute(
            update(MemberExpertise)
            .where(MemberExpertise.member_id == member_id)
            .values(
                record=None if found is None else to_record(found),
                fetched_at=now,
                due_at=now + REFRESH_EVERY,
            )
        )
    return True


def refresh_expertise(
    factory: sessionmaker[Session],
    adapter_for: Callable[[int], ForumAdapter],
    clock: Clock,
    config: Config,
) -> int:
    """Periodic job: read the expertise of a few due mentors; how many calls were answered."""
    now = clock.now()
    with transaction(factory) as session:
        claimed = _claim(session, now)
    done = 0
    spent: set[int] = set()  # forums whose budget ran out in this pass
    for member in claimed:
        member_id, forum_id, _ = member
        if forum_id in spent:
            with transaction(factory) as session:
                _next_try(session, member_id, now)  # give the claim back: next pass
            continue
        if _read_one(factory, adapter_for(forum_id), forum_id, member, now):
            done += 1
        else:
            spent.add(forum_id)
    return done


def _counted(name: str, count: int, language: str, **values: str) -> str:
    """One plural line of a message file ("one: ..." / "other: ..."), chosen by Babel."""
    locale = Locale.parse(DATE_LOCALES.get(language, DATE_LOCALES[DEFAULT]))
    shown = format_decimal(count, locale=locale)  # "1.234" in German
    text = phrase(name, language, count=shown, **values)
    forms = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    return forms.get(locale.plural_form(count), forms["other"])


def expertise_line(expertise: Expertise | None, language: str) -> str | None:
    """A directory card's line: "23 posts in Algebra, 7 accepted answers"; None if nothing."""
    if expertise is None:
        return None
    parts = [
        _counted("expertise_posts", posts, language, category=name)
        for name, posts in expertise.top_categories[:1]
        if posts > 0
    ]
    if expertise.accepted_answers:
        parts.append(_counted("expertise_answers", expertise.accepted_answers, language))
    return ", ".join(parts) or None
