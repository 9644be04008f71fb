"""The outbox on its own: idempotent enqueue, delivery through a stub, and uncertain rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from plugin.engine.adapter import (
    BudgetExhausted,
    ForumRateLimited,
    ForumRejected,
    ForumUnavailable,
    SentPost,
)
from plugin.engine.outbox import FORUM_CALLS, deliver_due, enqueue, marker_for
from plugin.storage.db import transaction
from plugin.storage.models import Forum, OutboxMessage, utcnow

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def add(sessions, forum_id: int, key: str = "k1", **payload) -> bool:
    """Enqueue an open_thread row in its own transaction; whether it was new."""
    body = {"title": "Hello", "text": "Hi both", "usernames": ["maya", "sam"], **payload}
    with transaction(sessions) as session:
        return enqueue(session, forum_id=forum_id, key=key, kind="open_thread", payload=body)


def deliver(sessions, stub, *, owner: str = "w1", held: set[int] | None = None):
    """One delivery pass with the generic kinds, every forum answering with the stub."""
    return deliver_due(
        sessions,
        lambda forum_id: stub,
        owner=owner,
        now=NOW,
        lease=timedelta(seconds=30),
        kinds=FORUM_CALLS,
        held_forums=held,
    )


def only_row(sessions) -> OutboxMessage:
    with sessions() as session:
        return session.execute(select(OutboxMessage)).scalar_one()


def test_enqueue_with_a_repeated_key_adds_nothing(sessions, forum):
    assert add(sessions, forum.id, "k1") is True
    assert add(sessions, forum.id, "k1", text="another text") is False
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar() == 1
    assert json.loads(only_row(sessions).payload)["text"] == "Hi both"


def test_enqueue_writes_in_the_callers_transaction(sessions, forum):
    class Rollback(Exception):
        pass

    try:
        with transaction(sessions) as session:
            enqueue(session, forum_id=forum.id, key="k1", kind="post", payload={})
            raise Rollback
    except Rollback:
        pass
    with sessions() as session:
        assert session.execute(select(OutboxMessage)).first() is None


def test_a_delivered_row_is_sent_once_with_its_marker(sessions, forum, stub):
    add(sessions, forum.id)
    assert deliver(sessions, stub).sent == 1
    assert deliver(sessions, stub).sent == 0
    assert stub.sent() == [marker_for("k1")]
    sent = only_row(sessions)
    assert (sent.state, sent.attempts, sent.uncertain) == ("sent", 1, False)
    assert json.loads(sent.result) == {"thread": "t1", "post_id": "p1"}


def test_a_row_left_sending_by_a_dead_worker_is_looked_for_before_sending(sessions, forum, stub):
    add(sessions, forum.id)
    with transaction(sessions) as session:
        row = session.execute(select(OutboxMessage)).scalar_one()
        row.state, row.attempts, row.lease_owner, row.lease_until = "sending", 1, "dead", utcnow()
    stub.found[marker_for("k1")] = SentPost(thread="t9", post_id="p9")
    assert deliver(sessions, stub).sent == 1
    assert stub.calls == [("find_thread", marker_for("k1"))]  # found: not sent again
    found = only_row(sessions)
    assert (found.state, found.uncertain, found.attempts) == ("sent", True, 2)
    assert json.loads(found.result) == {"thread": "t9", "post_id": "p9"}


def test_an_uncertain_row_not_found_is_sent(sessions, forum, stub):
    add(sessions, forum.id)
    with transaction(sessions) as session:
        session.execute(select(OutboxMessage)).scalar_one().uncertain = True
    deliver(sessions, stub)
    assert [c[0] for c in stub.calls] == ["find_thread", "open_thread"]
    assert only_row(sessions).state == "sent"


def test_a_5xx_leaves_the_row_pending_and_uncertain_after_backoff(sessions, forum, stub):
    add(sessions, forum.id)
    stub.failures.append(ForumUnavailable("502 from the forum"))
    assert deliver(sessions, stub).failed == 1
    row = only_row(sessions)
    assert (row.state, row.uncertain, row.attempts) == ("pending", True, 1)
    assert row.run_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=30)
    assert row.lease_owner is None and "502" in row.last_error


def test_a_refused_call_is_given_up_without_its_text(sessions, forum, stub):
    add(sessions, forum.id, thread_of="k0")
    stub.failures.append(ForumRejected("422: recipients"))
    deliver(sessions, stub)
    dead = only_row(sessions)
    assert dead.state == "dead" and "422" in dead.last_error
    assert json.loads(dead.payload) == {"thread_of": "k0", "cleared": True}


def test_an_exhausted_budget_gives_the_row_back_untouched_and_holds_the_forum(
    sessions, forum, stub
):
    add(sessions, forum.id)
    stub.failures.append(BudgetExhausted(NOW + timedelta(seconds=5)))
    held: set[int] = set()
    result = deliver(sessions, stub, held=held)
    assert (result.sent, result.failed, held) == (0, 0, {forum.id})
    row = only_row(sessions)
    assert (row.state, row.attempts, row.lease_owner, row.uncertain) == ("pending", 0, None, False)


def test_a_429_pauses_the_whole_forum_until_retry_after(sessions, forum, stub):
    add(sessions, forum.id, "k1")
    add(sessions, forum.id, "k2")
    stub.failures.append(ForumRateLimited("429", retry_after=90))
    held: set[int] = set()
    deliver(sessions, stub, held=held)
    assert held == {forum.id} and len(stub.calls) == 1  # k2 was not tried
    with sessions() as session:
        paused = session.get(Forum, forum.id).paused_until
        states = session.execute(select(OutboxMessage.state).order_by(OutboxMessage.id)).all()
    assert paused.replace(tzinfo=UTC) == NOW + timedelta(seconds=90)
    assert [s for (s,) in states] == ["pending", "pending"]
