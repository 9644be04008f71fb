"""finished indexes: the retention purge's indexes hold only finished rows (partial, on
processed_at or sent_at), so neither database can take them to reach the waiting rows a
claim looks for (their first column was the state)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# (index, table, time column, the finished state it holds): plugin/storage/models.py's
# finished_index, with the same literal WHERE.
INDEXES = (
    ("ix_inbox_processed", "inbox_events", "processed_at", "done"),
    ("ix_outbox_sent", "outbox_messages", "sent_at", "sent"),
    ("ix_webhook_deliveries_sent", "webhook_deliveries", "sent_at", "sent"),
)


def upgrade() -> None:
    """Revision 0015, finished indexes (see the module docstring)."""
    for name, table, column, state in INDEXES:
        op.drop_index(name, table_name=table)
        where = sa.text(f"state = '{state}'")
        op.create_index(name, table, [column], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    """The indexes of (state, time) again."""
    for name, table, column, _state in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ["state", column])
