"""self service: a program's self-service flag, and the mentees' requests to mentors (one
open request per mentee, held by a partial unique index)

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OPEN_REQUEST = "state = 'open'"  # plugin/storage/requests.py's, literal


def upgrade() -> None:
    """Revision 0016, self service (see the module docstring)."""
    with op.batch_alter_table("programs") as batch:
        batch.add_column(
            sa.Column("self_service", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "mentor_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mentee_id"], ["signups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mentor_id"], ["signups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    where = sa.text(OPEN_REQUEST)
    op.create_index(
        "uq_mentor_requests_open_mentee",
        "mentor_requests",
        ["mentee_id"],
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )
    op.create_index("ix_mentor_requests_mentor", "mentor_requests", ["mentor_id", "state"])
    op.create_index(
        "ix_mentor_requests_open_expiry",
        "mentor_requests",
        ["expires_at"],
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    """Drop the requests and the flag."""
    op.drop_table("mentor_requests")
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("self_service")
