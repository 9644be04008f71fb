"""nonce limits: a keyed hash of the client beside each sign-in nonce, and indexes to count
and sweep nonces cheaply

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Revision 0009, nonce limits (see the module docstring)."""
    with op.batch_alter_table("admin_nonces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_admin_nonces_client", ["forum_id", "client_hash"], unique=False)
        batch_op.create_index("ix_admin_nonces_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    """Undo revision 0009, back to the schema before it."""
    with op.batch_alter_table("admin_nonces", schema=None) as batch_op:
        batch_op.drop_index("ix_admin_nonces_expires_at")
        batch_op.drop_index("ix_admin_nonces_client")
        batch_op.drop_column("client_hash")
