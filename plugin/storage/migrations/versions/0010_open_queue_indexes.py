"""open queue indexes: partial indexes of the inbox's and outbox's unfinished rows, so a
claim reads only the waiting work however many finished rows are kept

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
INDEXES = (
    ("inbox_events", "ix_inbox_open", ["id"]),
    ("inbox_events", "ix_inbox_open_ordering", ["ordering_key", "id"]),
    ("outbox_messages", "ix_outbox_open", ["id"]),
    ("outbox_messages", "ix_outbox_open_ordering", ["ordering_key", "id"]),
)


def upgrade() -> None:
    """Revision 0010, open queue indexes (see the module docstring)."""
    where = sa.text(OPEN_ROWS)
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    """Undo revision 0010, back to the schema before it."""
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
