"""The outbox: every call that changes something on a forum, sent at most once in effect.

A domain change and the outbox row that tells the forum about it are written in one
transaction (`enqueue`). The worker then delivers rows: it marks a row "sending" and
commits *before* the HTTP call, so a crash at any point after that leaves a row that is
known to be uncertain; before sending an uncertain row again the worker asks the forum
whether the post already exists (each post carries a marker derived from the row's key).
A sent call keeps its key, kind, forum, outcome and times, never what it said (as a call
given up); plugin/engine/retention.py deletes it after MENTORSHIP_RETENTION_DAYS.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from plugin import metrics
from plugin.engine.adapter import (
    BudgetExhausted,
    ForumAdapter,
    ForumError,
    ForumRateLimited,
    ForumUnavailable,
    SentPost,
)
from plugin.engine.budget import pause_forum
from plugin.engine.leases import backoff, claim, release, still_mine
from plugin.logs import bound
from plugin.storage.db import insert_ignore_many, reading, transaction, upsert_ignore
from plugin.storage.models import EPOCH, OutboxMessage, utcnow
from plugin.storage.states import QueueState

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12  # about a day and a half of backoff before a row is given up


@dataclass(frozen=True)
class SendContext:
    """What a kind's send/find functions may use."""

    adapter: ForumAdapter
    factory: sessionmaker[Session]
    # The worker's settings (plugin.config.Config): kinds that render a message only when
    # it is sent (a personal link) need its keys and base URL.
    settings: Any = None


@dataclass(frozen=True)
class Kind:
    """How to send one kind of outbox row, find it again, and record the outcome."""

    send: Callable[[SendContext, dict, str], SentPost]
    find: Callable[[SendContext, dict, str], SentPost | None]
    on_sent: Callable[[Session, OutboxMessage, dict, SentPost], None] | None = None
    on_dead: Callable[[Session, OutboxMessage, dict, str], None] | None = None


# The outbox kinds' table: kind name -> Kind. The full table is the domain's
# (plugin/domain/tables.py), which adds its own kinds to FORUM_CALLS below; the worker hands
# it to deliver_due, and a test checks that every kind enqueued is in it.
Kinds = Mapping[str, Kind]


def marker_for(key: str) -> str:
    """A short, stable marker for an idempotency key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def enqueue(
    session: Session,
    *,
    forum_id: int,
    key: str,
    kind: str,
    payload: dict[str, Any],
    ordering_key: str | None = None,
    run_at: datetime = EPOCH,
) -> bool:
    """Add an outbox row in the caller's transaction; a repeated key adds nothing.

    Inside `batched(session)` the row is written when the batch ends (the answer is then
    True: whether the key was new is not known yet).
    """
    row = {
        "forum_id": forum_id,
        "key": key,
        "kind": kind,
        "payload": json.dumps(payload, separators=(",", ":")),
        "ordering_key": ordering_key,
        "run_at": run_at,
        "state": QueueState.PENDING,
        "attempts": 0,
        "uncertain": False,
        "created_at": utcnow(),
    }
    pending = session.info.get(_BATCH)
    if pending is not None:
        pending.append(row)
        return True
    return upsert_ignore(session, OutboxMessage.__table__, row)


_BATCH = "outbox_batch"


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """Hold the rows `enqueue` adds in this block and write them in one statement at its end.

    For the scheduler, which queues a post for each of hundreds of pairs: one INSERT per
    row also flushes the session each time (autoflush), which was most of a pass's cost.
    The rows keep their order, so each thread's posts keep theirs. Nothing in the block may
    read the outbox rows it queued.
    """
    if _BATCH in session.info:  # already batching: the outer block writes them
        yield
        return
    session.info[_BATCH] = []
    try:
        yield
        insert_ignore_many(session, OutboxMessage.__table__, session.info[_BATCH])
    finally:
        del session.info[_BATCH]


def thread_of(session: Session, key: str) -> str | None:
    """The thread that the sent outbox row `key` opened or posted in."""
    result = session.execute(
        select(OutboxMessage.result).where(
            OutboxMessage.key == key, OutboxMessage.state == QueueState.SENT
        )
    ).scalar_one_or_none()
    return json.loads(result)["thread"] if result else None


# -- the two generic kinds -------------------------------------------------------------


def _resolve_thread(ctx: SendContext, payload: dict) -> str:
    """The payload's thread, or the one its `thread_of` row opened."""
    if payload.get("thread"):
        return str(payload["thread"])
    with reading(ctx.factory) as session:
        thread = thread_of(session, payload["thread_of"])
    if thread is None:  # ordering keys make this impossible unless the opener was given up
        raise ForumError(f"the thread of {payload['thread_of']!r} was never opened")
    return thread


# The plain forum calls, which need nothing of the domain.
FORUM_CALLS: dict[str, Kind] = {
    "open_thread": Kind(
        send=lambda ctx, p, m: ctx.adapter.open_thread(p["title"], p["text"], p["usernames"], m),
        find=lambda ctx, p, m: ctx.adapter.find_thread(m),
    ),
    "post": Kind(
        send=lambda ctx, p, m: ctx.adapter.post(_resolve_thread(ctx, p), p["text"], m),
        find=lambda ctx, p, m: ctx.adapter.find_post(_resolve_thread(ctx, p), m),
    ),
}


# -- delivery ----------------------------------------------------------------------------


@dataclass
class Pass:
    """What one delivery pass did."""

    sent: int = 0
    failed: int = 0
    held: int = 0  # given back untouched: the forum's budget is spent or it is paused

    @property
    def progressed(self) -> int:
        """Messages this pass got through, sent or failed."""
        return self.sent + self.failed


def _start(session: Session, row_id: int, owner: str) -> OutboxMessage | None:
    """Mark a claimed row as being sent (committed before any HTTP)."""
    if not still_mine(session, OutboxMessage, row_id, owner):
        return None
    row = session.get_one(OutboxMessage, row_id)
    if row.state == QueueState.SENDING:  # its last sender died after marking it: outcome unknown
        row.uncertain = True
    row.state = QueueState.SENDING
    row.attempts += 1
    return row


def _finish(run: _Run, session: Session, row_id: int, sent: SentPost) -> None:
    """Record what was sent and run the kind's on_sent, unless the lease was lost."""
    if not still_mine(session, OutboxMessage, row_id, run.owner):
        return  # lease lost: whoever has it now will find our post by its marker
    row = session.get_one(OutboxMessage, row_id)
    row.result = json.dumps({"thread": sent.thread, "post_id": sent.post_id})
    row.sent_at = run.now  # the service's clock: the retention purge counts from it
    row.last_error = None
    kind = run.kinds[row.kind]
    if kind.on_sent:
        kind.on_sent(session, row, json.loads(row.payload), sent)
    # The forum has it now: keep where it went, never what it said (after on_sent reads it).
    row.payload = diagnosis_payload(row.payload)
    release(session, OutboxMessage, row_id, run.owner, state=QueueState.SENT)


# What a sent or given-up call keeps for diagnosis: where it was going, never what it said
# or to whom.
DIAGNOSIS_FIELDS = ("pair_id", "step", "thread", "thread_of")


def diagnosis_payload(payload: str) -> str:
    """The payload of a sent or dead call without message text, titles or usernames."""
    try:
        fields = json.loads(payload)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        fields = {}
    kept = {k: fields[k] for k in DIAGNOSIS_FIELDS if k in fields}
    return json.dumps({**kept, "cleared": True}, separators=(",", ":"))


def _fail(
    session: Session, row_id: int, owner: str, exc: Exception, now: datetime, kinds: Kinds
) -> bool:
    """Record a failed attempt; True when the row was given up."""
    row = session.get_one(OutboxMessage, row_id)
    error = str(exc)[:1000]
    values: dict[str, Any] = {"last_error": error}
    if isinstance(exc, ForumRateLimited):
        until = now + timedelta(seconds=exc.retry_after)
        pause_forum(session, row.forum_id, until)
        values.update(state=QueueState.PENDING, run_at=until)  # a 429 was not performed
    elif isinstance(exc, ForumError) and exc.retryable and row.attempts < MAX_ATTEMPTS:
        values.update(state=QueueState.PENDING, run_at=now + backoff(row.attempts))
        if isinstance(exc, ForumUnavailable):
            values["uncertain"] = True  # a 5xx or timeout may have come after the post
    elif not isinstance(exc, ForumError) and row.attempts < MAX_ATTEMPTS:
        values.update(state=QueueState.PENDING, run_at=now + backoff(row.attempts), uncertain=True)
    else:
        values["state"] = QueueState.DEAD
        kind = kinds.get(row.kind)
        if kind and kind.on_dead:
            kind.on_dead(session, row, json.loads(row.payload), error)
        values["payload"] = diagnosis_payload(row.payload)  # after on_dead, which reads it
    release(session, OutboxMessage, row_id, owner, **values)
    return values["state"] == QueueState.DEAD


@dataclass(frozen=True)
class _Run:
    """What every step of one delivery pass shares."""

    factory: sessionmaker[Session]
    adapter_for: Callable[[int], ForumAdapter]
    owner: str
    now: datetime
    kinds: Kinds
    settings: Any = None


@dataclass(frozen=True)
class _Started:
    """A row marked as sending (and committed): what its forum call needs."""

    row: OutboxMessage
    kind: Kind
    uncertain: bool
    payload: dict
    marker: str


def _claim_due(run: _Run, lease: timedelta, limit: int, held: set[int]) -> list[tuple[int, int]]:
    """Claim due rows in one committed transaction; (row id, forum id) of each."""
    with transaction(run.factory) as session:
        return [
            (r.id, r.forum_id)
            for r in claim(
                session,
                OutboxMessage,
                owner=run.owner,
                now=run.now,
                lease=lease,
                limit=limit,
                skip_forums=frozenset(held),
            )
        ]


def _begin(run: _Run, row_id: int) -> _Started | None:
    """Mark the row as sending and commit before any HTTP; None if the lease was lost."""
    with transaction(run.factory) as session:
        row = _start(session, row_id, run.owner)
        if row is None:
            return None
        kind, uncertain = run.kinds[row.kind], row.uncertain
        payload, marker = json.loads(row.payload), marker_for(row.key)
    return _Started(row, kind, uncertain, payload, marker)


def _call_forum(ctx: SendContext, started: _Started) -> SentPost:
    """Send the row; an uncertain one is first looked for by its marker."""
    kind, payload, marker = started.kind, started.payload, started.marker
    sent = kind.find(ctx, payload, marker) if started.uncertain else None
    if sent is None:
        sent = kind.send(ctx, payload, marker)
    return sent


def _give_back(run: _Run, row_id: int) -> None:
    """Release a claimed row untouched."""
    with transaction(run.factory) as session:
        release(session, OutboxMessage, row_id, run.owner)


def _undo_start(run: _Run, row_id: int, row: OutboxMessage) -> None:
    """Put a started row back as pending, its attempt not counted."""
    with transaction(run.factory) as session:  # nothing was sent: as it was
        release(
            session, OutboxMessage, row_id, run.owner, state="pending", attempts=row.attempts - 1
        )


def _failed(run: _Run, row_id: int, row: OutboxMessage, exc: Exception) -> None:
    """Log an unexpected failure and record the attempt on the row."""
    if not isinstance(exc, ForumError):
        log.exception("outbox row %s (%s) failed", row_id, row.kind)
    with transaction(run.factory) as session:
        _fail(session, row_id, run.owner, exc, run.now, run.kinds)


def _deliver_one(run: _Run, row_id: int, forum_id: int, held: set[int], result: Pass) -> None:
    """Deliver one claimed row, one committed step at a time."""
    if forum_id in held:  # its budget ran out earlier in this pass: give it back as is
        _give_back(run, row_id)
        result.held += 1
        return
    started = _begin(run, row_id)
    if started is None:
        return
    ctx = SendContext(adapter=run.adapter_for(forum_id), factory=run.factory, settings=run.settings)
    try:
        sent = _call_forum(ctx, started)
    except BudgetExhausted:
        held.add(forum_id)
        _undo_start(run, row_id, started.row)
        result.held += 1
        return
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        metrics.forum_call(forum_id, exc)
        _failed(run, row_id, started.row, exc)
        if isinstance(exc, ForumRateLimited):
            held.add(forum_id)
        result.failed += 1
        return
    metrics.forum_call(forum_id)
    with transaction(run.factory) as session:
        _finish(run, session, row_id, sent)
    result.sent += 1


def deliver_due(
    factory: sessionmaker[Session],
    adapter_for: Callable[[int], ForumAdapter],
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    kinds: Kinds,
    limit: int = 20,
    held_forums: set[int] | None = None,
    settings: Any = None,
) -> Pass:
    """Claim due outbox rows and deliver them, one committed step at a time."""
    held = held_forums if held_forums is not None else set()
    run = _Run(factory, adapter_for, owner, now, kinds, settings)
    result = Pass()
    for row_id, forum_id in _claim_due(run, lease, limit, held):
        with bound(delivery_id=row_id, forum_id=forum_id):  # named in JSON log lines
            _deliver_one(run, row_id, forum_id, held, result)
    return result
