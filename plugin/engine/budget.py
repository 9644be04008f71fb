"""The per-forum request budget, shared by every worker through the database.

Discourse counts admin-API requests in a rolling 60-second window shared by all keys
(docs/forums/discourse.md §4), so the budget is a rolling window too: at most N calls
whose timestamps fall in the last 60 seconds, across all processes and machines. A 429's
Retry-After pauses the whole forum, not only the call that met it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from plugin.engine.adapter import BudgetExhausted, Gate
from plugin.engine.clock import Clock
from plugin.storage.db import transaction
from plugin.storage.models import Forum, ForumCall

WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class Reservation:
    """The outcome of asking for one call: granted, or when to ask again."""

    granted: bool
    retry_at: datetime | None = None


def _lock_forum(session: Session, forum_id: int) -> Forum:
    # FOR UPDATE serialises budget decisions per forum on PostgreSQL; SQLite's
    # BEGIN IMMEDIATE (plugin.storage.db) already serialises every writing transaction.
    forum = session.execute(
        select(Forum).where(Forum.id == forum_id).with_for_update()
    ).scalar_one()
    return forum


def reserve_call(session: Session, forum_id: int, now: datetime) -> Reservation:
    """Take one slot of the forum's budget at `now`, or say when one frees up."""
    forum = _lock_forum(session, forum_id)
    if forum.paused_until is not None and forum.paused_until > now:
        return Reservation(False, forum.paused_until)
    since = now - WINDOW
    in_window = select(ForumCall.at).where(ForumCall.forum_id == forum_id, ForumCall.at > since)
    used = session.execute(select(func.count()).select_from(in_window.subquery())).scalar_one()
    if used >= forum.request_budget:
        oldest = session.execute(
            in_window.order_by(ForumCall.at).limit(1).offset(used - forum.request_budget)
        ).scalar_one()
        return Reservation(False, min(oldest, now) + WINDOW)
    session.add(ForumCall(forum_id=forum_id, at=now))
    # Old entries are useless once out of the window; prune them as we go.
    session.execute(delete(ForumCall).where(ForumCall.forum_id == forum_id, ForumCall.at <= since))
    return Reservation(True)


def pause_forum(session: Session, forum_id: int, until: datetime) -> None:
    """Hold every call to the forum until `until` (a 429's Retry-After)."""
    forum = _lock_forum(session, forum_id)
    if forum.paused_until is None or forum.paused_until < until:
        forum.paused_until = until


def budget_gate(
    factory: sessionmaker[Session], forum_id: int, clock: Clock, *, wait: bool = False
) -> Gate:
    """Before each request, take a slot of the forum's shared budget.

    Workers pass wait=False: a full budget raises BudgetExhausted and the work stays
    pending. Commands pass wait=True and sleep (on the real clock) for the next slot.
    """

    def gate() -> None:
        """Take one call from the forum's budget; wait or raise when it is spent."""
        while True:
            now = clock.now()
            with transaction(factory) as session:
                reservation = reserve_call(session, forum_id, now)
            if reservation.granted:
                return
            assert reservation.retry_at is not None  # reserve_call sets it on every refusal
            if not wait or clock.frozen:
                raise BudgetExhausted(reservation.retry_at)
            time.sleep(max(0.05, min((reservation.retry_at - now).total_seconds(), 60)))

    return gate
