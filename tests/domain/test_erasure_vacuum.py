"""Issue 12: scrubbing the files after an erasure never makes a webhook wait.

VACUUM FULL took the events table's exclusive lock; the receiver's inserts queued behind
it. A plain VACUUM shares the table with writers.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, event, insert

from plugin.domain.erasure import scrub_files
from plugin.storage.models import InboxEvent, utcnow


def _scrub_in_background(engine: Engine) -> threading.Thread:
    """scrub_files on another thread, started."""
    worker = threading.Thread(target=scrub_files, args=(engine,), daemon=True)
    worker.start()
    return worker


@pytest.mark.postgres
def test_scrubbing_finishes_while_a_receiver_transaction_holds_new_events(sessions, forum):
    engine: Engine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("the lock is PostgreSQL's; SQLite checkpoints its WAL instead")
    with engine.connect() as receiver:
        receiver.begin()
        receiver.execute(
            insert(InboxEvent),
            {"forum_id": forum.id, "event": "post", "content_key": "k", "created_at": utcnow()},
        )
        worker = _scrub_in_background(engine)
        worker.join(timeout=15)  # a plain VACUUM of ten small tables: well under a second
        finished = not worker.is_alive()
        receiver.commit()  # frees a scrub that was waiting on it, whatever the outcome
    worker.join(timeout=30)
    assert finished


def test_scrubbing_never_rewrites_tables_with_vacuum_full(sessions, forum):
    engine: Engine = sessions.kw["bind"]
    issued: list[str] = []

    def keep(_conn, _cursor, statement, *_args) -> None:
        issued.append(statement.upper())

    event.listen(engine, "before_cursor_execute", keep)
    try:
        scrub_files(engine)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert not any("VACUUM FULL" in s for s in issued)
    if engine.dialect.name == "postgresql":
        assert any(s.startswith("VACUUM") for s in issued)
