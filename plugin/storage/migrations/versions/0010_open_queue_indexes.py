"""open queue indexes: partial indexes of the inbox's and outbox's unfinished rows, so a
claim reads only the waiting work however many finished rows are kept; and of running
pairs by due time (replacing ix_pairs_due), so the scheduler reads its batches in order

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The same literal WHERE as plugin/storage/models.py's OPEN_ROWS (a migration does not
# import the models: it must keep describing this revision when they change).
OPEN_ROWS = "state IN ('pending', 'sending')"
RUNNING_PAIRS = "state IN ('active', 'paused')"
INDEXES = (
    ("inbox_events", "ix_inbox_open", ["id"], OPEN_ROWS),
    ("inbox_events", "ix_inbox_open_ordering", ["ordering_key", "id"], OPEN_ROWS),
    ("outbox_messages", "ix_outbox_open", ["id"], OPEN_ROWS),
    ("outbox_messages", "ix_outbox_open_ordering", ["ordering_key", "id"], OPEN_ROWS),
    ("pairs", "ix_pairs_due_open", ["next_due_at", "id"], RUNNING_PAIRS),
)


def upgrade() -> None:
    """Revision 0010, open queue indexes (see the module docstring)."""
    for table, name, columns, where in INDEXES:
        clause = sa.text(where)
        op.create_index(name, table, columns, sqlite_where=clause, postgresql_where=clause)
    op.drop_index("ix_pairs_due", table_name="pairs")
    # The claim walks ix_*_open in id order and stops at its limit; with (state, run_at)
    # beside it PostgreSQL, misled by a sample of a big table, read every waiting row.
    op.drop_index("ix_inbox_due", table_name="inbox_events")
    op.drop_index("ix_outbox_due", table_name="outbox_messages")


def downgrade() -> None:
    """Undo revision 0010, back to the schema before it."""
    op.create_index("ix_pairs_due", "pairs", ["state", "next_due_at"])
    op.create_index("ix_inbox_due", "inbox_events", ["state", "run_at"])
    op.create_index("ix_outbox_due", "outbox_messages", ["state", "run_at"])
    for table, name, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
