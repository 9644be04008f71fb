"""outbox.batched: the rows of a block are written once, at its end, in order."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from plugin.engine.outbox import batched, enqueue
from plugin.storage.db import transaction
from plugin.storage.models import OutboxMessage


def post(session, forum_id: int, key: str, text: str) -> None:
    enqueue(session, forum_id=forum_id, key=key, kind="post", payload={"text": text},
            ordering_key="pair:1")  # fmt: skip


def rows(sessions) -> list[tuple[str, str]]:
    with sessions() as session:
        found = session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        return [(row.key, json.loads(row.payload)["text"]) for row in found]


def test_a_batch_writes_its_rows_in_the_order_they_were_queued(sessions, forum):
    with transaction(sessions) as session, batched(session):
        for n in (3, 1, 2):
            post(session, forum.id, f"k{n}", f"text {n}")
    assert rows(sessions) == [("k3", "text 3"), ("k1", "text 1"), ("k2", "text 2")]


def test_a_batch_writes_nothing_until_it_ends(sessions, forum):
    with transaction(sessions) as session, batched(session):
        post(session, forum.id, "k1", "one")
        assert session.execute(select(OutboxMessage)).first() is None


def test_a_key_repeated_in_a_batch_or_already_queued_adds_nothing(sessions, forum):
    with transaction(sessions) as session:
        post(session, forum.id, "k1", "first")
    with transaction(sessions) as session, batched(session):
        post(session, forum.id, "k1", "again")
        post(session, forum.id, "k2", "second")
        post(session, forum.id, "k2", "second again")
    assert rows(sessions) == [("k1", "first"), ("k2", "second")]


def test_a_batch_that_fails_writes_nothing(sessions, forum):
    with pytest.raises(RuntimeError), transaction(sessions) as session, batched(session):
        post(session, forum.id, "k1", "one")
        raise RuntimeError("the domain failed half way")
    assert rows(sessions) == []
    with transaction(sessions) as session:  # and the session is no longer batching
        post(session, forum.id, "k2", "two")
        assert session.execute(select(OutboxMessage.key)).scalar_one() == "k2"


def test_a_batch_inside_a_batch_is_written_by_the_outer_one(sessions, forum):
    with transaction(sessions) as session, batched(session):
        with batched(session):
            post(session, forum.id, "k1", "inner")
        assert session.execute(select(OutboxMessage)).first() is None
        post(session, forum.id, "k2", "outer")
    assert rows(sessions) == [("k1", "inner"), ("k2", "outer")]
