"""program space: where a program's pairs talk, a private message (`pm`, every program so
far) or a Discourse chat direct-message channel (`chat`)

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Revision 0019, the program's pair space (see the module docstring)."""
    with op.batch_alter_table("programs") as batch:
        batch.add_column(
            sa.Column("space", sa.String(length=8), nullable=False, server_default="pm")
        )


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("space")
