"""Retention (issue 12): processed events and sent calls keep no body and go after N days."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from plugin.engine.clock import Clock
from plugin.engine.hooks import add_hook, enqueue_event
from plugin.engine.inbox import Registered, StoredEvent, process_due, store
from plugin.engine.outbox import FORUM_CALLS, deliver_due, enqueue
from plugin.engine.retention import purge, purge_expired
from plugin.storage.db import transaction
from plugin.storage.models import InboxEvent, OutboxMessage
from plugin.storage.states import QueueState
from plugin.storage.webhooks import WebHookDelivery
from plugin.worker import Worker

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DAYS = timedelta(days=30)
LEASE = timedelta(seconds=30)
NOOP = {"noted": Registered(apply=lambda ctx, payload: None)}


def put(sessions, forum_id: int, key: str, delivery: str = "d1") -> bool:
    """Store one event with a member's text in it; whether it was new."""
    ev = StoredEvent("noted", key, {"key": key, "command": "!report they were rude"})
    with transaction(sessions) as session:
        return store(session, forum_id, delivery, ev)


def process(sessions, stub, at: datetime) -> None:
    """One processing pass at `at` on the service's clock."""
    process_due(sessions, lambda _: stub, owner="w", clock=Clock(at), lease=LEASE, handlers=NOOP)


def call(sessions, forum_id: int, key: str) -> None:
    """Queue a post with a body."""
    with transaction(sessions) as session:
        body = {"thread": "t1", "text": "Welcome, maya"}
        enqueue(session, forum_id=forum_id, key=key, kind="post", payload=body)


def deliver(sessions, stub, at: datetime) -> None:
    """One delivery pass at `at` on the service's clock."""
    deliver_due(sessions, lambda _: stub, owner="w", now=at, lease=LEASE, kinds=FORUM_CALLS)


def events(sessions) -> dict[str, InboxEvent]:
    with sessions() as session:
        return {r.content_key: r for r in session.execute(select(InboxEvent)).scalars()}


def calls(sessions) -> dict[str, OutboxMessage]:
    with sessions() as session:
        return {r.key: r for r in session.execute(select(OutboxMessage)).scalars()}


def test_a_processed_event_keeps_its_keys_and_no_payload(sessions, forum, stub):
    put(sessions, forum.id, "a")
    process(sessions, stub, T0)
    row = events(sessions)["a"]
    assert (row.state, row.payload, row.delivery_id) == (QueueState.DONE, None, "d1")
    assert row.processed_at == T0


def test_a_duplicate_of_a_kept_event_is_recognised_after_its_payload_is_gone(sessions, forum, stub):
    put(sessions, forum.id, "a")
    process(sessions, stub, T0)
    purge(sessions, T0 + DAYS - timedelta(seconds=1), DAYS)
    assert put(sessions, forum.id, "a", delivery="d2") is False


def test_a_duplicate_of_a_purged_event_is_new(sessions, forum, stub):
    put(sessions, forum.id, "a")
    process(sessions, stub, T0)
    purge(sessions, T0 + DAYS + timedelta(seconds=1), DAYS)
    assert put(sessions, forum.id, "a", delivery="d2") is True


def test_processed_events_older_than_the_retention_are_deleted(sessions, forum, stub):
    put(sessions, forum.id, "old")
    process(sessions, stub, T0)
    put(sessions, forum.id, "young")
    process(sessions, stub, T0 + timedelta(days=2))
    assert purge(sessions, T0 + DAYS + timedelta(days=1), DAYS) == 1
    assert set(events(sessions)) == {"young"}


def test_unfinished_events_are_kept_however_old(sessions, forum, stub):
    put(sessions, forum.id, "pending")
    put(sessions, forum.id, "failed")
    with transaction(sessions) as session:
        session.execute(
            update(InboxEvent)
            .where(InboxEvent.content_key == "failed")
            .values(state=QueueState.FAILED, processed_at=T0)
        )
    assert purge(sessions, T0 + 100 * DAYS, DAYS) == 0
    assert set(events(sessions)) == {"pending", "failed"}


def test_a_sent_call_keeps_its_key_kind_and_outcome_and_no_body(sessions, forum, stub):
    call(sessions, forum.id, "k1")
    deliver(sessions, stub, T0)
    row = calls(sessions)["k1"]
    assert (row.state, row.kind, row.sent_at) == (QueueState.SENT, "post", T0)
    assert json.loads(row.payload) == {"thread": "t1", "cleared": True}
    assert "Welcome" not in row.payload and row.result is not None


def test_sent_calls_older_than_the_retention_are_deleted(sessions, forum, stub):
    call(sessions, forum.id, "old")
    deliver(sessions, stub, T0)
    call(sessions, forum.id, "young")
    deliver(sessions, stub, T0 + timedelta(days=2))
    assert purge(sessions, T0 + DAYS + timedelta(days=1), DAYS) == 1
    assert set(calls(sessions)) == {"young"}


def test_unsent_calls_are_kept_however_old(sessions, forum, stub):
    for key, state in (("pending", QueueState.PENDING), ("dead", QueueState.DEAD)):
        call(sessions, forum.id, key)
        with transaction(sessions) as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key == key)
                .values(state=state, sent_at=T0, created_at=T0)
            )
    assert purge(sessions, T0 + 100 * DAYS, DAYS) == 0
    assert set(calls(sessions)) == {"pending", "dead"}


def test_the_purge_deletes_at_most_its_batches_in_one_pass(sessions, forum, stub):
    for n in range(7):
        put(sessions, forum.id, f"e{n}")
    process(sessions, stub, T0)
    assert purge(sessions, T0 + 2 * DAYS, DAYS, batch=2, max_batches=3) == 6
    assert len(events(sessions)) == 1
    assert purge(sessions, T0 + 2 * DAYS, DAYS, batch=2, max_batches=3) == 1


def test_the_periodic_job_counts_the_retention_days_on_the_service_clock(
    config, sessions, forum, stub
):
    put(sessions, forum.id, "a")
    process(sessions, stub, T0)
    week = replace(config, retention_days=7)
    assert purge_expired(sessions, None, Clock(T0 + timedelta(days=6)), week) == 0
    assert purge_expired(sessions, None, Clock(T0 + timedelta(days=8)), week) == 1


def test_worker_once_at_a_later_now_purges_what_the_retention_let_go(config, sessions, forum, stub):
    put(sessions, forum.id, "old")
    process(sessions, stub, T0)
    Worker(config, sessions, Clock(T0 + DAYS + timedelta(seconds=1))).run_once()
    assert events(sessions) == {}


def _deliveries(sessions, states: dict[str, tuple[QueueState, datetime | None]]) -> None:
    """One hook and one delivery per event type, in the given state, sent at the given time."""
    with transaction(sessions) as session:
        add_hook(session, "http://127.0.0.1:9/hook", list(states), frozenset({"127.0.0.1"}))
        for event_type in states:
            enqueue_event(session, event_type, {"program": 1}, T0)
        for event_type, (state, sent_at) in states.items():
            session.execute(
                update(WebHookDelivery)
                .where(WebHookDelivery.event_type == event_type)
                .values(state=state, sent_at=sent_at, created_at=T0)
            )


def _delivery_types(sessions) -> set[str]:
    with transaction(sessions) as session:
        return set(session.execute(select(WebHookDelivery.event_type)).scalars())


def test_sent_deliveries_older_than_the_retention_are_deleted(sessions, forum):
    young = T0 + DAYS + timedelta(days=2)
    _deliveries(
        sessions,
        {"pair.created": (QueueState.SENT, T0), "pair.ended": (QueueState.SENT, young)},
    )
    assert purge(sessions, T0 + DAYS + timedelta(days=1), DAYS) == 1
    assert _delivery_types(sessions) == {"pair.ended"}


def test_unsent_deliveries_are_kept_however_old(sessions, forum):
    _deliveries(
        sessions,
        {"pair.created": (QueueState.PENDING, None), "pair.ended": (QueueState.DEAD, None)},
    )
    assert purge(sessions, T0 + 100 * DAYS, DAYS) == 0
    assert _delivery_types(sessions) == {"pair.created", "pair.ended"}
