"""program public place: where `!ask` posts questions (a Discourse category id or a Zulip
stream name; both null: the program has none)

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Revision 0018, the program's public place (see the module docstring)."""
    with op.batch_alter_table("programs") as batch:
        batch.add_column(sa.Column("public_category", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("public_stream", sa.String(length=100), nullable=True))


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("public_stream")
        batch.drop_column("public_category")
