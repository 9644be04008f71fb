"""languages: a program's language (`en` for every program made before) and the language a
member's forum account names

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Revision 0014, languages (see the module docstring)."""
    with op.batch_alter_table("programs") as batch:
        batch.add_column(sa.Column("language", sa.String(10), nullable=False, server_default="en"))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("locale", sa.String(10), nullable=True))


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("members") as batch:
        batch.drop_column("locale")
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("language")
