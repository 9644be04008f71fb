"""Leases on their own: which rows a worker claims, in what order, and giving them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plugin.engine.leases import backoff, claim, release, release_all, still_mine
from plugin.engine.outbox import enqueue
from plugin.storage.db import transaction
from plugin.storage.models import OutboxMessage, utcnow

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def add_rows(sessions, forum_id: int, *keys: str, ordering_key=None, run_at=None) -> list[int]:
    """One outbox row per key; their ids."""
    with transaction(sessions) as session:
        for key in keys:
            extra = {"run_at": run_at} if run_at else {}
            enqueue(
                session,
                forum_id=forum_id,
                key=key,
                kind="post",
                payload={"thread": "1", "text": key},
                ordering_key=ordering_key,
                **extra,
            )
    with sessions() as session:
        query = select(OutboxMessage.id).where(OutboxMessage.key.in_(keys))
        return list(session.execute(query.order_by(OutboxMessage.id)).scalars())


def take(sessions, owner: str = "w1", limit: int = 10, **kw) -> list[int]:
    """Claim as `owner` and commit; the ids claimed."""
    with transaction(sessions) as session:
        rows = claim(session, OutboxMessage, owner=owner, now=NOW, lease=LEASE, limit=limit, **kw)
        return [r.id for r in rows]


def row(sessions, row_id: int) -> OutboxMessage:
    with sessions() as session:
        return session.get(OutboxMessage, row_id)


def test_claim_leases_due_rows_to_their_owner_in_id_order(sessions, forum):
    ids = add_rows(sessions, forum.id, "a", "b", "c")
    assert take(sessions) == ids
    claimed = row(sessions, ids[0])
    assert claimed.lease_owner == "w1"
    assert claimed.lease_until > utcnow() + LEASE - timedelta(seconds=5)


def test_claim_takes_at_most_limit_rows(sessions, forum):
    ids = add_rows(sessions, forum.id, "a", "b", "c")
    assert take(sessions, limit=2) == ids[:2]


def test_rows_not_yet_due_on_the_logical_clock_are_left(sessions, forum):
    add_rows(sessions, forum.id, "later", run_at=NOW + timedelta(seconds=1))
    [due] = add_rows(sessions, forum.id, "now", run_at=NOW)
    assert take(sessions) == [due]


def test_a_live_lease_keeps_other_workers_off(sessions, forum):
    ids = add_rows(sessions, forum.id, "a", "b")
    assert take(sessions, "w1", limit=1) == ids[:1]
    assert take(sessions, "w2") == ids[1:]
    assert take(sessions, "w3") == []


def test_an_expired_lease_makes_the_row_due_again(sessions, forum):
    [row_id] = add_rows(sessions, forum.id, "a")
    assert take(sessions, "dead-worker") == [row_id]
    with transaction(sessions) as session:
        session.get(OutboxMessage, row_id).lease_until = utcnow() - timedelta(seconds=1)
    assert take(sessions, "w2") == [row_id]
    assert row(sessions, row_id).lease_owner == "w2"


def test_a_sending_row_whose_lease_ran_out_is_due_whatever_its_run_at(sessions, forum):
    [row_id] = add_rows(sessions, forum.id, "a", run_at=NOW + timedelta(days=1))
    with transaction(sessions) as session:
        found = session.get(OutboxMessage, row_id)
        found.state, found.lease_owner, found.lease_until = "sending", "dead", utcnow()
    assert take(sessions) == [row_id]


def test_rows_of_one_ordering_key_are_claimed_one_at_a_time(sessions, forum):
    first, second = add_rows(sessions, forum.id, "k1", "k2", ordering_key="thread-1")
    [free] = add_rows(sessions, forum.id, "free")
    assert take(sessions) == [first, free]
    with transaction(sessions) as session:
        release(session, OutboxMessage, first, "w1", state="sent")
    assert take(sessions, "w2") == [second]


def test_skipped_forums_are_not_claimed(sessions, forum):
    add_rows(sessions, forum.id, "a")
    assert take(sessions, skip_forums=frozenset({forum.id})) == []


def test_release_gives_the_row_back_with_new_values_only_to_its_owner(sessions, forum):
    [row_id] = add_rows(sessions, forum.id, "a")
    take(sessions, "w1")
    with transaction(sessions) as session:
        release(session, OutboxMessage, row_id, "someone-else", state="dead")
        assert still_mine(session, OutboxMessage, row_id, "w1")
        assert not still_mine(session, OutboxMessage, row_id, "someone-else")
    assert (row(sessions, row_id).state, row(sessions, row_id).lease_owner) == ("pending", "w1")
    with transaction(sessions) as session:
        release(session, OutboxMessage, row_id, "w1", state="sent")
    released = row(sessions, row_id)
    assert (released.state, released.lease_owner, released.lease_until) == ("sent", None, None)


def test_release_all_gives_back_every_row_an_owner_holds(sessions, forum):
    ids = add_rows(sessions, forum.id, "a", "b", "c")
    take(sessions, "w1", limit=2)
    take(sessions, "w2")
    with transaction(sessions) as session:
        assert release_all(session, OutboxMessage, "w1") == 2
    assert [row(sessions, i).lease_owner for i in ids] == [None, None, "w2"]


def test_backoff_doubles_from_thirty_seconds_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in (0, 1, 2, 3, 7, 8, 50)] == [
        30,
        30,
        60,
        120,
        1920,
        3600,
        3600,
    ]
