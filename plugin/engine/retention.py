"""Retention: finished events, calls and webhook deliveries go after MENTORSHIP_RETENTION_DAYS.

They are kept that long for duplicate detection (an event's content key) and diagnosis (a
call's key, kind and outcome), never with a message body. The age counts from when a row
was processed or sent, on the service's clock, so `worker --once --now T` moves it. Rows
are deleted in small batches, each its own short transaction, and only so many per pass:
a purge never holds the database's write lock for long, and work that is due goes first.
Unfinished rows (pending, being worked, failed, given up) are never deleted here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, literal_column, or_, select
from sqlalchemy.orm import Session, sessionmaker

from plugin.engine.clock import Clock
from plugin.storage.db import reading, transaction
from plugin.storage.models import InboxEvent, OutboxMessage
from plugin.storage.states import QueueState
from plugin.storage.webhooks import WebHookDelivery

BATCH = 500  # rows a statement
MAX_BATCHES = 4  # statements a table per pass: the rest waits for the next pass


def _finished(model: Any, state: QueueState) -> ColumnElement[bool]:
    """`state = 'done'` with a literal: the WHERE of the partial index the purge reads."""
    # SQLite matches a partial index only against the same term with the same literal
    # (plugin/storage/indexes.py, finished_index).
    return model.state == literal_column(f"'{state.value}'")


def _expired_events(cutoff: datetime) -> ColumnElement[bool]:
    """Processed events older than the cutoff."""
    # An event dropped by an erasure is done without a processed_at: its arrival counts.
    processed_before = or_(
        InboxEvent.processed_at < cutoff,
        and_(InboxEvent.processed_at.is_(None), InboxEvent.created_at < cutoff),
    )
    return and_(_finished(InboxEvent, QueueState.DONE), processed_before)


def _expired_calls(cutoff: datetime) -> ColumnElement[bool]:
    """Sent calls older than the cutoff."""
    return and_(_finished(OutboxMessage, QueueState.SENT), OutboxMessage.sent_at < cutoff)


def _expired_deliveries(cutoff: datetime) -> ColumnElement[bool]:
    """Outgoing webhook deliveries sent before the cutoff (their bodies are already gone)."""
    return and_(_finished(WebHookDelivery, QueueState.SENT), WebHookDelivery.sent_at < cutoff)


Purged = type[InboxEvent] | type[OutboxMessage] | type[WebHookDelivery]


def _delete_batch(
    factory: sessionmaker[Session],
    model: Purged,
    where: ColumnElement[bool],
    batch: int,
) -> int:
    """Delete up to `batch` rows matching `where`, oldest first; how many went."""
    # Found in a read-only session: a pass with nothing old enough (nearly every pass)
    # takes no write lock, which on SQLite the receivers would wait for.
    with reading(factory) as session:
        ids = list(
            session.execute(select(model.id).where(where).order_by(model.id).limit(batch)).scalars()
        )
    if not ids:
        return 0
    with transaction(factory) as session:
        # The condition again: a row cannot have changed state since, but say so in SQL.
        result = session.execute(delete(model).where(model.id.in_(ids), where))
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML returns a CursorResult


def purge(
    factory: sessionmaker[Session],
    now: datetime,
    retention: timedelta,
    *,
    batch: int = BATCH,
    max_batches: int = MAX_BATCHES,
) -> int:
    """Delete processed events, sent calls and sent deliveries older than `retention`."""
    cutoff = now - retention
    deleted = 0
    targets: tuple[tuple[Purged, ColumnElement[bool]], ...] = (
        (InboxEvent, _expired_events(cutoff)),
        (OutboxMessage, _expired_calls(cutoff)),
        (WebHookDelivery, _expired_deliveries(cutoff)),
    )
    for model, where in targets:
        for _ in range(max_batches):
            count = _delete_batch(factory, model, where, batch)
            deleted += count
            if count < batch:  # nothing more is old enough
                break
    return deleted


def purge_expired(
    factory: sessionmaker[Session], _adapter_for: Any, clock: Clock, config: Any
) -> int:
    """The worker's periodic job: purge() with MENTORSHIP_RETENTION_DAYS, on the service's clock."""
    return purge(factory, clock.now(), timedelta(days=config.retention_days))
