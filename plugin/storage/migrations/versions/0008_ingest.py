"""ingest: deduplicate by content only; keep the previous webhook secret for an overlap

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Revision 0008, ingest (see the module docstring)."""
    # A reused X-Discourse-Event-Id (a restored forum) must not drop a different event.
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_inbox_delivery", type_="unique")
    with op.batch_alter_table("forums", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_webhook_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("webhook_secret_replaced_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Undo revision 0008, back to the schema before it."""
    with op.batch_alter_table("forums", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret_replaced_at")
        batch_op.drop_column("previous_webhook_secret")
    # Rows that share a delivery id would break the constraint: keep the first of each.
    op.execute(
        "UPDATE inbox_events SET delivery_id = NULL WHERE delivery_id IS NOT NULL AND id NOT IN "
        "(SELECT MIN(id) FROM inbox_events WHERE delivery_id IS NOT NULL "
        "GROUP BY forum_id, delivery_id)"
    )
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_inbox_delivery", ["forum_id", "delivery_id"])
