"""member expertise: the forum's record of what a mentor knows (categories, likes, accepted
answers) and when it was read and is due again

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Revision 0017, member expertise (see the module docstring)."""
    op.create_table(
        "member_expertise",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_index("ix_member_expertise_due", "member_expertise", ["due_at"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("member_expertise")
