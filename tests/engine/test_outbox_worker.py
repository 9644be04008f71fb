"""The outbox and the worker: no loss, no double post, retries, leases, 429s, budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from plugin.config import Config
from plugin.engine.clock import Clock
from plugin.engine.outbox import enqueue, marker_for
from plugin.storage.db import transaction
from plugin.storage.models import Forum, OutboxMessage
from plugin.worker import Worker

T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


def run_worker(config: Config, sessions, at: datetime = T0) -> Worker:
    worker = Worker(config, sessions, Clock(at))
    worker.run_once()
    return worker


def enqueue_posts(sessions, forum_id: int, n: int, prefix: str = "p") -> list[str]:
    keys = [f"{prefix}:{i}" for i in range(n)]
    with transaction(sessions) as session:
        for key in keys:
            enqueue(
                session,
                forum_id=forum_id,
                key=key,
                kind="open_thread",
                payload={
                    "title": f"Thread {key}",
                    "text": f"Hello {key}",
                    "usernames": ["maya", "sam"],
                },
            )
    return keys


def rows(sessions) -> list[OutboxMessage]:
    with sessions() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def posts_with(fake, key: str) -> int:
    marker = marker_for(key)
    return sum(marker in p.raw for p in fake.posts.values())


def test_enqueue_with_the_same_key_twice_adds_one_row(sessions, live_forum):
    enqueue_posts(sessions, live_forum.id, 1)
    enqueue_posts(sessions, live_forum.id, 1)
    assert len(rows(sessions)) == 1


def test_worker_opens_each_thread_once_with_exactly_the_recipients(
    config, sessions, live_forum, fake
):
    keys = enqueue_posts(sessions, live_forum.id, 3)
    run_worker(config, sessions)
    assert [r.state for r in rows(sessions)] == ["sent"] * 3
    assert all(posts_with(fake, k) == 1 for k in keys)
    for pm in fake.private_messages():
        assert sorted(pm["participants"]) == ["maya", "mentor_bot", "sam"]


def test_a_second_run_posts_nothing_more(config, sessions, live_forum, fake):
    enqueue_posts(sessions, live_forum.id, 2)
    run_worker(config, sessions)
    before = len(fake.posts)
    run_worker(config, sessions)
    assert len(fake.posts) == before


def test_reply_follows_the_thread_it_belongs_to(config, sessions, live_forum, fake):
    [key] = enqueue_posts(sessions, live_forum.id, 1)
    with transaction(sessions) as session:
        enqueue(
            session,
            forum_id=live_forum.id,
            key="reply",
            kind="post",
            payload={"thread_of": key, "text": "Step 2"},
            ordering_key="t",
        )
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.key == key).values(ordering_key="t")
        )
    run_worker(config, sessions)
    [opened, reply] = rows(sessions)
    assert json.loads(reply.result)["thread"] == json.loads(opened.result)["thread"]


def test_unknown_recipient_is_given_up_with_discourses_error(config, sessions, live_forum, fake):
    with transaction(sessions) as session:
        enqueue(
            session,
            forum_id=live_forum.id,
            key="x",
            kind="open_thread",
            payload={"title": "Hello there", "text": "Hi", "usernames": ["nobody"]},
        )
    run_worker(config, sessions)
    [row] = rows(sessions)
    assert row.state == "dead"
    assert "422" in row.last_error and "recipients" in row.last_error


def test_server_error_after_accepting_is_not_posted_twice(config, sessions, live_forum, fake):
    [key] = enqueue_posts(sessions, live_forum.id, 1)
    fake.accept_then_fail_next("POST", r"^/posts\.json$", status=500)
    run_worker(config, sessions)
    [row] = rows(sessions)
    assert (row.state, row.uncertain) == ("pending", True)
    run_worker(config, sessions, T0 + timedelta(hours=1))
    assert rows(sessions)[0].state == "sent"
    assert posts_with(fake, key) == 1


def test_server_error_before_accepting_is_retried_after_backoff(config, sessions, live_forum, fake):
    [key] = enqueue_posts(sessions, live_forum.id, 1)
    fake.fail_next("POST", r"^/posts\.json$", 502)
    run_worker(config, sessions)
    assert rows(sessions)[0].state == "pending"
    run_worker(config, sessions, T0 + timedelta(seconds=10))  # backoff not over yet
    assert posts_with(fake, key) == 0
    run_worker(config, sessions, T0 + timedelta(hours=1))
    assert posts_with(fake, key) == 1


def test_death_between_the_forums_answer_and_the_commit(
    config, sessions, live_forum, fake, monkeypatch
):
    [key] = enqueue_posts(sessions, live_forum.id, 1)
    import plugin.engine.outbox as outbox

    def die(*args, **kwargs):
        raise SystemExit("killed")  # the process dies before recording the answer

    monkeypatch.setattr(outbox, "_finish", die)
    with pytest.raises(SystemExit):
        run_worker(config, sessions)
    monkeypatch.undo()
    assert posts_with(fake, key) == 1
    [row] = rows(sessions)
    assert row.state == "sending"
    _expire_leases(sessions)
    run_worker(config, sessions)
    [row] = rows(sessions)
    assert row.state == "sent"
    assert posts_with(fake, key) == 1


def _expire_leases(sessions) -> None:
    with transaction(sessions) as session:
        session.execute(update(OutboxMessage).values(lease_until=datetime.now(UTC) - timedelta(1)))


def test_stale_lease_of_a_dead_worker_is_taken_up(config, sessions, live_forum, fake):
    [key] = enqueue_posts(sessions, live_forum.id, 1)
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage).values(
                lease_owner="dead-worker", lease_until=datetime.now(UTC) - timedelta(seconds=1)
            )
        )
    run_worker(config, sessions)
    assert posts_with(fake, key) == 1


def test_live_lease_is_left_alone(config, sessions, live_forum, fake):
    [key] = enqueue_posts(sessions, live_forum.id, 1)
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage).values(
                lease_owner="busy-worker", lease_until=datetime.now(UTC) + timedelta(minutes=5)
            )
        )
    run_worker(config, sessions)
    assert posts_with(fake, key) == 0


def test_429_holds_the_forum_until_retry_after(config, sessions, live_forum, fake):
    keys = enqueue_posts(sessions, live_forum.id, 2)
    fake.fail_next(
        "POST",
        r"^/posts\.json$",
        429,
        headers={"Retry-After": "120"},
        body={
            "errors": ["Slow down"],
            "error_type": "rate_limit",
            "extras": {"wait_seconds": 120, "time_left": "2 minutes"},
        },
    )
    run_worker(config, sessions)
    assert [posts_with(fake, k) for k in keys] == [0, 0]
    with sessions() as session:
        assert session.get(Forum, live_forum.id).paused_until == T0 + timedelta(seconds=120)
    run_worker(config, sessions, T0 + timedelta(seconds=119))
    assert [posts_with(fake, k) for k in keys] == [0, 0]
    run_worker(config, sessions, T0 + timedelta(seconds=121))
    assert [posts_with(fake, k) for k in keys] == [1, 1]


def test_request_budget_holds_work_for_a_later_run(config, sessions, live_forum, fake):
    with transaction(sessions) as session:
        session.get(Forum, live_forum.id).request_budget = 3
    keys = enqueue_posts(sessions, live_forum.id, 5)
    run_worker(config, sessions)
    assert len(fake.requests) == 3
    assert sum(posts_with(fake, k) for k in keys) == 3
    run_worker(config, sessions, T0 + timedelta(seconds=30))
    assert len(fake.requests) == 3  # still inside the rolling minute
    run_worker(config, sessions, T0 + timedelta(seconds=61))
    assert sum(posts_with(fake, k) for k in keys) == 5


def test_a_sending_row_given_back_without_a_lease_is_taken_up_as_uncertain(
    config, sessions, live_forum, fake
):
    [key] = enqueue_posts(sessions, live_forum.id, 1)
    fake.accept_then_fail_next("POST", r"^/posts\.json$", status=500)
    run_worker(config, sessions)  # the forum has the post; we could not tell
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage).values(
                state="sending", lease_owner=None, lease_until=None, run_at=T0 + timedelta(1)
            )
        )
    run_worker(config, sessions)
    assert rows(sessions)[0].state == "sent"
    assert posts_with(fake, key) == 1


def test_a_once_run_counts_calls_made_and_calls_held_by_the_budget(
    config, sessions, live_forum, fake
):
    with transaction(sessions) as session:
        session.get(Forum, live_forum.id).request_budget = 3
    enqueue_posts(sessions, live_forum.id, 5)
    tally = Worker(config, sessions, Clock(T0)).run_once()
    assert (tally.events, tally.calls, tally.held) == (0, 3, 2)
    assert tally.describe() == (
        "processed 0 events, made 3 forum calls; 2 calls held for later (rate limit or quiet hours)"
    )
    idle = Worker(config, sessions, Clock(T0 + timedelta(seconds=61))).run_once()
    assert (idle.calls, idle.held) == (2, 0)
    assert Worker(config, sessions, Clock(T0 + timedelta(seconds=62))).run_once().describe() == (
        "nothing was due"
    )
