"""delivery retention: outgoing webhook deliveries get the queues' partial index of open rows
(a claim reads only waiting deliveries however many sent ones are kept) and an index to find
sent ones by age for the retention purge

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The same literal WHERE as plugin/storage/models.py's OPEN_ROWS (see 0010).
OPEN_ROWS = "state IN ('pending', 'sending')"
TABLE = "webhook_deliveries"


def upgrade() -> None:
    """Revision 0013, delivery retention (see the module docstring)."""
    clause = sa.text(OPEN_ROWS)
    for name, columns in (
        ("ix_webhook_deliveries_open", ["id"]),
        ("ix_webhook_deliveries_open_ordering", ["ordering_key", "id"]),
    ):
        op.create_index(name, TABLE, columns, sqlite_where=clause, postgresql_where=clause)
    op.create_index("ix_webhook_deliveries_sent", TABLE, ["state", "sent_at"])
    # As 0010 did for the inbox and outbox: (state, run_at) misleads PostgreSQL's planner.
    op.drop_index("ix_webhook_deliveries_due", table_name=TABLE)


def downgrade() -> None:
    """Undo revision 0013, back to the schema before it."""
    op.create_index("ix_webhook_deliveries_due", TABLE, ["state", "run_at"])
    for name in (
        "ix_webhook_deliveries_sent",
        "ix_webhook_deliveries_open_ordering",
        "ix_webhook_deliveries_open",
    ):
        op.drop_index(name, table_name=TABLE)
