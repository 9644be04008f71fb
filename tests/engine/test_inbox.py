"""The inbox on its own: store and dedupe, claim order per key, what a failure does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.engine.adapter import ForumRejected, ForumUnavailable
from plugin.engine.clock import Clock
from plugin.engine.inbox import Registered, StoredEvent, process_due, store, store_now
from plugin.storage.db import get_engine, transaction
from plugin.storage.models import InboxEvent

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def event(key: str, *, name: str = "noted", ordering_key=None, **payload) -> StoredEvent:
    return StoredEvent(name, key, {"key": key, **payload}, ordering_key)


def put(sessions, forum_id: int, *events: StoredEvent, delivery: str | None = None) -> list:
    """Store each event in one transaction; whether each was new."""
    with transaction(sessions) as session:
        return [store(session, forum_id, delivery, ev) for ev in events]


def rows(sessions) -> list[InboxEvent]:
    with sessions() as session:
        return list(session.execute(select(InboxEvent).order_by(InboxEvent.id)).scalars())


def run(sessions, stub, handlers, *, owner: str = "w1"):
    """One processing pass with `handlers`, every forum answering with the stub adapter."""
    return process_due(
        sessions,
        lambda forum_id: stub,
        owner=owner,
        clock=Clock(NOW),
        lease=timedelta(seconds=30),
        handlers=handlers,
    )


def recorder(seen: list):
    """A handler that notes each payload's key."""
    return Registered(apply=lambda ctx, payload: seen.append(payload["key"]))


def test_the_same_content_is_stored_once_whatever_the_delivery(sessions, forum):
    assert put(sessions, forum.id, event("a"), delivery="d1") == [True]
    assert put(sessions, forum.id, event("a"), delivery="d2") == [False]
    assert put(sessions, forum.id, event("b"), delivery="d1") == [True]
    assert [(r.content_key, r.delivery_id) for r in rows(sessions)] == [("a", "d1"), ("b", "d1")]


def test_store_now_commits_on_its_own_and_dedupes_too(config, sessions, forum):
    engine = get_engine(config.database_url)
    assert store_now(engine, forum.id, "d1", event("a")) is True
    assert store_now(engine, forum.id, "d2", event("a")) is False
    [stored] = rows(sessions)
    assert (stored.state, stored.attempts, json.loads(stored.payload)) == (
        "pending",
        0,
        {"key": "a"},
    )


def test_a_key_longer_than_its_column_is_stored_as_a_digest(sessions, forum):
    long = "k" * 500
    assert put(sessions, forum.id, event(long, ordering_key=long)) == [True]
    assert put(sessions, forum.id, event(long, ordering_key=long)) == [False]
    [stored] = rows(sessions)
    assert len(stored.content_key) <= 200 and len(stored.ordering_key) <= 120


def test_events_of_one_ordering_key_are_handled_in_order_one_per_pass(sessions, forum, stub):
    put(
        sessions,
        forum.id,
        event("m1", ordering_key="member-1"),
        event("m2", ordering_key="member-1"),
        event("free"),
    )
    seen: list[str] = []
    assert run(sessions, stub, {"noted": recorder(seen)}).done == 2
    assert seen == ["m1", "free"]
    assert run(sessions, stub, {"noted": recorder(seen)}).done == 1
    assert seen == ["m1", "free", "m2"]


def test_a_handled_event_keeps_its_keys_and_drops_its_payload(sessions, forum, stub):
    put(sessions, forum.id, event("a", text="what the member said"))
    run(sessions, stub, {"noted": recorder([])})
    [done] = rows(sessions)
    assert (done.state, done.payload, done.lease_owner) == ("done", None, None)
    assert done.content_key == "a" and done.processed_at is not None


def test_an_event_without_a_handler_is_dropped_as_done(sessions, forum, stub):
    put(sessions, forum.id, event("a", name="nobody_handles_this"))
    assert run(sessions, stub, {}).done == 1
    assert rows(sessions)[0].state == "done"


def test_the_handler_gets_the_stub_adapter_and_the_forum(sessions, forum, stub):
    got = []
    handler = Registered(apply=lambda ctx, payload: got.append((ctx.adapter, ctx.forum.id)))
    put(sessions, forum.id, event("a"))
    run(sessions, stub, {"noted": handler})
    assert got == [(stub, forum.id)]


def _raise(exc: Exception):
    def apply(ctx, payload):
        raise exc

    return Registered(apply=apply)


def test_a_retryable_failure_is_retried_after_backoff(sessions, forum, stub):
    put(sessions, forum.id, event("a"))
    result = run(sessions, stub, {"noted": _raise(ForumUnavailable("down"))})
    assert (result.done, result.failed) == (0, 1)
    [failed] = rows(sessions)
    assert (failed.state, failed.attempts) == ("pending", 1)
    assert failed.run_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=30)
    assert "ForumUnavailable: down" in failed.last_error
    assert run(sessions, stub, {"noted": recorder([])}).done == 0  # not due yet


def test_a_final_failure_keeps_no_member_text(sessions, forum, stub):
    put(sessions, forum.id, event("a", command="!report they said something awful"))
    run(sessions, stub, {"noted": _raise(ForumRejected("no"))})
    [failed] = rows(sessions)
    assert failed.state == "failed"
    assert json.loads(failed.payload) == {"key": "a", "command_word": "report"}


@pytest.mark.parametrize("owner", ["w1", "w2"])
def test_a_row_handled_is_never_handled_again(sessions, forum, stub, owner):
    put(sessions, forum.id, event("a"))
    seen: list[str] = []
    run(sessions, stub, {"noted": recorder(seen)}, owner="w0")
    run(sessions, stub, {"noted": recorder(seen)}, owner=owner)
    assert seen == ["a"]
