"""Leased claims on the inbox and outbox tables, safe with many workers.

A worker claims due rows by writing its name and a lease into them and committing. On
PostgreSQL the claim reads with FOR UPDATE SKIP LOCKED, so concurrent workers never wait
on or take each other's rows; on SQLite, BEGIN IMMEDIATE serialises claims. A worker that
dies leaves its lease behind; once the lease runs out (real time) the rows are due again.
Rows that share an ordering key are claimed one at a time, lowest id first.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, literal_column, or_, select, update
from sqlalchemy.orm import Session, aliased

from plugin.storage.models import utcnow
from plugin.storage.states import QueueState

# Rows that still hold up later rows of their key.
OPEN_STATES = (QueueState.PENDING, QueueState.SENDING)


def _open(model: Any) -> ColumnElement[bool]:
    """`state IN ('pending', 'sending')` as literals: the WHERE of the partial indexes.

    Repeated word for word so that both databases use the indexes of unfinished rows
    (plugin/storage/indexes.py, OPEN_ROWS): SQLite matches a partial index only against the
    same term with the same literals, never a bound parameter.
    """
    return model.state.in_([literal_column(f"'{s.value}'") for s in OPEN_STATES])


def worker_name() -> str:
    """A name unique to this process, readable in the database when debugging."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(
    session: Session,
    model: type[Any],
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    skip_forums: frozenset[int] = frozenset(),
) -> list:
    """Lease up to `limit` due rows of `model` to `owner` (the caller commits)."""
    real_now = utcnow()
    earlier = aliased(model)
    # Only unfinished rows can hold a row back: the check reads the partial index of open
    # rows, never the finished ones kept beside them.
    held_back = exists().where(
        _open(earlier),
        earlier.ordering_key == model.ordering_key,
        earlier.id < model.id,
    )
    lease_free = or_(model.lease_until.is_(None), model.lease_until < real_now)
    # An open row is due when its time has come, or when it was left "sending" by a dead
    # worker (or given back): then it is due again, and uncertain (see outbox), whatever its
    # run_at. The state is tested once, by _open: a second test of it (state = 'pending'
    # beside state IN (...)) made PostgreSQL multiply the two selectivities, read 20,000
    # waiting rows as 388, and sort them all instead of walking the open rows' index.
    due = or_(model.state == QueueState.SENDING, model.run_at <= now)
    stmt = (
        select(model)
        # _open is the partial indexes' WHERE, so the scan in id order walks their index.
        .where(_open(model), lease_free, due, or_(model.ordering_key.is_(None), ~held_back))
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=model)
    )
    if skip_forums:
        stmt = stmt.where(model.forum_id.not_in(skip_forums))
    rows = list(session.execute(stmt).scalars())
    for row in rows:
        row.lease_owner = owner
        row.lease_until = real_now + lease
    return rows


def still_mine(session: Session, model: type[Any], row_id: int, owner: str) -> bool:
    """Re-read the row under lock: is our lease on it still there?"""
    found = session.execute(
        select(model.id).where(model.id == row_id, model.lease_owner == owner).with_for_update()
    ).first()
    return found is not None


def release(session: Session, model: type[Any], row_id: int, owner: str, **values: Any) -> None:
    """Give a claimed row back (optionally changing it), if we still hold it."""
    session.execute(
        update(model)
        .where(model.id == row_id, model.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, **values)
    )


def release_all(session: Session, model: type[Any], owner: str) -> int:
    """Give back every row `owner` holds, as they are; how many."""
    result = session.execute(
        update(model).where(model.lease_owner == owner).values(lease_owner=None, lease_until=None)
    )
    return result.rowcount  # type: ignore[attr-defined]  # DML via Session.execute returns a CursorResult


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))
