"""admin: sign-in nonces, sessions, single-use links, proposal drafts

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Revision 0005, admin: sign-in nonces, sessions, single-use links, proposal drafts."""
    op.create_table(
        "admin_link_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("jti"),
    )
    op.create_table(
        "admin_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("forum_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["forum_id"], ["forums.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce_hash"),
    )
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("forum_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("is_forum_admin", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["forum_id"], ["forums.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "proposal_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("max_tz_gap_hours", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("proposal_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposal_drafts_program_id"), ["program_id"], unique=False
        )

    op.create_table(
        "proposal_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("mentor_signup_id", sa.Integer(), nullable=False),
        sa.Column("mentee_signup_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["draft_id"], ["proposal_drafts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mentee_signup_id"], ["signups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mentor_signup_id"], ["signups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("proposal_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_items_draft_id"), ["draft_id"], unique=False)


def downgrade() -> None:
    """Undo revision 0005, back to the schema before it."""
    with op.batch_alter_table("proposal_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_items_draft_id"))

    op.drop_table("proposal_items")
    with op.batch_alter_table("proposal_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_drafts_program_id"))

    op.drop_table("proposal_drafts")
    op.drop_table("admin_sessions")
    op.drop_table("admin_nonces")
    op.drop_table("admin_link_uses")
