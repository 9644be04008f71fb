"""The inbox: webhook events stored before they are acknowledged, processed by the worker.

The receiver writes one row per event (deduplicated by content: what the event is, not
which delivery carried it; the delivery id is kept for diagnosis only) and commits before
it answers 2xx. The worker claims rows and runs each event's handler in the same
transaction that marks it done, so an event is either fully handled or not at all. A
processed event keeps only its keys (until plugin/engine/retention.py deletes it); an event
that fails for good keeps no member text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from plugin.engine.adapter import BudgetExhausted, ForumAdapter, ForumError, ForumRateLimited
from plugin.engine.budget import pause_forum
from plugin.engine.clock import Clock
from plugin.engine.leases import backoff, claim, release, still_mine
from plugin.engine.payloads import bounded, command_word
from plugin.logs import bound
from plugin.metrics import note_stored
from plugin.storage.db import log_database_error, reading, transaction
from plugin.storage.models import EPOCH, Forum, InboxEvent, utcnow
from plugin.storage.states import QueueState

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class StoredEvent:
    """A minimised event, ready to be written to the inbox."""

    event: str
    content_key: str
    payload: dict[str, Any]
    ordering_key: str | None = None

    def __post_init__(self) -> None:
        # The columns' sizes (200, 120): a longer key is stored as its digest, never a 5xx.
        object.__setattr__(self, "content_key", bounded(self.content_key, 200))
        if self.ordering_key is not None:
            object.__setattr__(self, "ordering_key", bounded(self.ordering_key, 120))


def _insert(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once per dialect."""
    stmt = _INSERTS.get(dialect)
    if stmt is None:
        table = InboxEvent.__table__
        module = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(table).on_conflict_do_nothing().returning(table.c.id)
        _INSERTS[dialect] = stmt
    return stmt


_INSERTS: dict[str, Insert] = {}

_SQLITE_INSERT = (
    "INSERT INTO inbox_events (forum_id, delivery_id, event, content_key, payload, "
    "ordering_key, state, attempts, run_at, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, '1970-01-01 00:00:00.000000', ?) "
    "ON CONFLICT DO NOTHING RETURNING id"
)


def store_now(engine: Engine, forum_id: int, delivery_id: str | None, ev: StoredEvent) -> bool:
    """store() in its own committed transaction: the receiver's acknowledgement path.

    On SQLite it runs one fixed statement on the pooled driver connection (the same
    pragmas, BEGIN IMMEDIATE and commit as everywhere else, without SQLAlchemy's
    per-statement machinery): bench/ingest.py measured that machinery as a third of the
    receiver's CPU time. Datetimes are written in SQLAlchemy's SQLite format.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            return note_stored(store(conn, forum_id, delivery_id, ev))
    created = utcnow().replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    payload = json.dumps(ev.payload, separators=(",", ":"))
    raw = engine.raw_connection()
    try:
        db = raw.driver_connection
        assert db is not None  # a connection fresh from the pool is never detached
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                _SQLITE_INSERT,
                (
                    forum_id,
                    delivery_id,
                    ev.event,
                    ev.content_key,
                    payload,
                    ev.ordering_key,
                    created,
                ),
            ).fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        raw.close()
    return note_stored(row is not None)


def store(
    db: Session | Connection, forum_id: int, delivery_id: str | None, ev: StoredEvent
) -> bool:
    """Write the event unless it is a duplicate (the same content key); True if new."""
    # The receiver's hot path: a prebuilt statement on a Core connection costs a fraction
    # of an ORM flush (bench/ingest.py).
    values = {
        "forum_id": forum_id,
        "delivery_id": delivery_id,
        "event": ev.event,
        "content_key": ev.content_key,
        "payload": json.dumps(ev.payload, separators=(",", ":")),
        "ordering_key": ev.ordering_key,
        "state": QueueState.PENDING,
        "attempts": 0,
        "run_at": EPOCH,
        "created_at": utcnow(),
    }
    return (
        db.execute(
            _insert(db.get_bind().dialect.name if isinstance(db, Session) else db.dialect.name),
            values,
        ).first()
        is not None
    )


@dataclass
class HandlerContext:
    """What an event handler may use; it must not commit.

    `prefetched` is what the handler's prefetch returned: forum API reads happen there,
    in a read-only session, so that no write transaction waits on the network.
    """

    session: Session
    forum: Forum
    adapter: ForumAdapter
    clock: Clock
    settings: Any = None
    prefetched: Any = None


Handler = Callable[[HandlerContext, dict], None]
Prefetch = Callable[[HandlerContext, dict], Any]


@dataclass(frozen=True)
class Registered:
    """A handler and its optional prefetch."""

    apply: Handler
    prefetch: Prefetch | None = None


# The dispatch table's type: event name -> handler. The table itself is the domain's
# (plugin/domain/tables.py); the worker hands it to process_due.
Dispatch = Mapping[str, Registered]


@dataclass
class Pass:
    """What one processing pass did."""

    done: int = 0
    failed: int = 0
    held: int = 0  # given back untouched: their forum's budget is spent

    @property
    def progressed(self) -> int:
        """Events this pass got through, done or failed."""
        return self.done + self.failed


def diagnosis_payload(payload: str | None) -> str | None:
    """What a failed event keeps: who, where and when, and the command word, never its text."""
    try:
        fields = json.loads(payload or "null")
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    command = fields.pop("command", None)
    if isinstance(command, str):
        fields["command_word"] = command_word(command)
    return json.dumps(fields, separators=(",", ":"))


def _record_failure(
    session: Session, row_id: int, owner: str, exc: Exception, now: datetime
) -> None:
    """Count a failed attempt: wait out a rate limit, give up for good, or retry later."""
    row = session.get_one(InboxEvent, row_id)
    row.attempts += 1
    values: dict[str, Any] = {"last_error": f"{type(exc).__name__}: {exc}"[:1000]}
    if isinstance(exc, ForumRateLimited):
        until = now + timedelta(seconds=exc.retry_after)
        pause_forum(session, row.forum_id, until)
        values["run_at"] = until
    elif row.attempts >= MAX_ATTEMPTS or (isinstance(exc, ForumError) and not exc.retryable):
        values["state"] = QueueState.FAILED
        values["payload"] = diagnosis_payload(row.payload)
    else:
        values["run_at"] = now + backoff(row.attempts)
    release(session, InboxEvent, row_id, owner, **values)


@dataclass(frozen=True)
class _Run:
    """What every step of one processing pass shares."""

    factory: sessionmaker[Session]
    adapter_for: Callable[[int], ForumAdapter]
    owner: str
    clock: Clock
    handlers: Dispatch
    settings: Any


def _claim_due(run: _Run, now: datetime, lease: timedelta, limit: int, held: set[int]) -> list[int]:
    """Claim due events in one committed transaction; their ids."""
    with transaction(run.factory) as session:
        return [
            r.id
            for r in claim(
                session,
                InboxEvent,
                owner=run.owner,
                now=now,
                lease=lease,
                limit=limit,
                skip_forums=frozenset(held),
            )
        ]


def _prefetch(run: _Run, row_id: int) -> tuple[Registered | None, dict, Any]:
    """The event's handler, payload and prefetch, read in a read-only session."""
    prefetched = None
    with reading(run.factory) as session:
        row = session.get(InboxEvent, row_id)
        forum = session.get(Forum, row.forum_id)
        handler = run.handlers.get(row.event)
        payload = json.loads(row.payload or "{}")
        if handler is not None and handler.prefetch is not None:
            ctx = HandlerContext(session, forum, run.adapter_for(forum.id), run.clock, run.settings)
            prefetched = handler.prefetch(ctx, payload)
    return handler, payload, prefetched


def _apply(
    run: _Run, row_id: int, handler: Registered | None, payload: dict, prefetched: Any
) -> bool:
    """Run the handler and mark the event done in one transaction; False if lease lost."""
    with transaction(run.factory) as session:
        if not still_mine(session, InboxEvent, row_id, run.owner):
            return False
        row = session.get(InboxEvent, row_id)
        forum = session.get(Forum, row.forum_id)
        if handler is not None:
            ctx = HandlerContext(
                session, forum, run.adapter_for(forum.id), run.clock, run.settings, prefetched
            )
            handler.apply(ctx, payload)
        else:
            log.info("no handler for %s event %s; dropped", forum.kind, row.event)
        # Processed: keep the dedupe keys (forum and content key), drop what the event said.
        # The time is the service's clock: the retention purge counts from it.
        row.payload = None
        row.processed_at = run.clock.now()
        release(session, InboxEvent, row_id, run.owner, state="done", last_error=None)
    return True


def _give_back(run: _Run, row_id: int) -> int:
    """Release an event untouched (its forum's budget ran out); its forum's id."""
    with transaction(run.factory) as session:
        forum_id = session.get(InboxEvent, row_id).forum_id
        release(session, InboxEvent, row_id, run.owner)
    return forum_id


def _process_one(run: _Run, row_id: int, now: datetime, held: set[int], result: Pass) -> None:
    """Prefetch and apply one event; a failure is recorded on its row, never raised."""
    try:
        handler, payload, prefetched = _prefetch(run, row_id)
        if _apply(run, row_id, handler, payload, prefetched):
            result.done += 1
    except BudgetExhausted:
        held.add(_give_back(run, row_id))
        result.held += 1
    except Exception as exc:  # noqa: BLE001 - recorded on the row, retried later
        if not isinstance(exc, ForumError):
            log_database_error(log, f"inbox event {row_id} failed", exc)
        with transaction(run.factory) as session:
            _record_failure(session, row_id, run.owner, exc, now)
        result.failed += 1


def process_due(
    factory: sessionmaker[Session],
    adapter_for: Callable[[int], ForumAdapter],
    *,
    owner: str,
    clock: Clock,
    lease: timedelta,
    handlers: Dispatch,
    settings: Any = None,
    limit: int = 50,
    held_forums: set[int] | None = None,
) -> Pass:
    """Claim due events and run their handlers, each in its own transaction."""
    held = held_forums if held_forums is not None else set()
    run = _Run(factory, adapter_for, owner, clock, handlers, settings)
    result = Pass()
    now = clock.now()
    for row_id in _claim_due(run, now, lease, limit, held):
        with bound(event_id=row_id):  # JSON log lines name the event they are about
            _process_one(run, row_id, now, held, result)
    return result
