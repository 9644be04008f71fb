"""States are enums in Python and the same short strings in the database as before."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import String, text, update

from plugin.storage.db import get_engine, transaction
from plugin.storage.models import Base, InboxEvent
from plugin.storage.states import QueueState

# (table, column, the VARCHAR length the migrations gave it) for every enum column.
ENUM_COLUMNS = {
    ("inbox_events", "state", 16),
    ("outbox_messages", "state", 16),
    ("programs", "state", 16),
    ("signups", "role", 8),
    ("signups", "state", 16),
    ("pairs", "state", 16),
    ("reports", "kind", 16),
    ("reports", "state", 16),
    ("proposal_items", "state", 16),
}


def test_enum_columns_are_the_same_varchar_and_need_no_migration(database_url):
    for table, name, length in ENUM_COLUMNS:
        column = Base.metadata.tables[table].c[name]
        assert isinstance(column.type, String) and column.type.length == length
        assert not column.type.create_constraint
    with get_engine(database_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    touched = {(d[2], d[3]) for diff in diffs for d in (diff if isinstance(diff, list) else [])}
    assert not touched & {(table, name) for table, name, _ in ENUM_COLUMNS}


def test_states_are_stored_as_their_strings_and_read_back_as_members(sessions, forum):
    with transaction(sessions) as session:
        row = InboxEvent(forum_id=forum.id, event="post", content_key="k")
        session.add(row)
        session.flush()
        row_id = row.id
    with transaction(sessions) as session:
        raw = session.execute(text("SELECT state FROM inbox_events")).scalar_one()
        assert raw == "pending"
        assert session.get(InboxEvent, row_id).state is QueueState.PENDING
        # A plain string is still accepted, as the code that predates the enums writes.
        session.execute(update(InboxEvent).values(state="done"))
    with transaction(sessions) as session:
        assert session.get(InboxEvent, row_id).state is QueueState.DONE
        assert session.get(InboxEvent, row_id).state == "done"
