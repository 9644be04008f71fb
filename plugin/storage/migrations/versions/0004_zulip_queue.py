"""zulip queue: the event queue polled for each Zulip forum

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Revision 0004, zulip queue: the event queue polled for each Zulip forum."""
    op.create_table(
        "zulip_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("forum_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.String(length=100), nullable=True),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["forum_id"], ["forums.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("forum_id", name="uq_zulip_queue_forum"),
    )


def downgrade() -> None:
    """Undo revision 0004, back to the schema before it."""
    op.drop_table("zulip_queues")
