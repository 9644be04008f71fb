"""admin identity: people by the forum's user id; forum admins apart from forum staff

Programs get `admin_ids` (the forum user ids of `admins`, index for index), admin sessions
`user_id` and `is_forum_staff`, proposal drafts `created_by_id`.

Existing rows: a program admin or draft author is resolved through the members table (same
forum, username ignoring case); one we cannot resolve keeps the username for reports and
display but no access, because a name alone may now belong to someone else. Admin sessions
are deleted: they name nobody by id, and whether a staff session was an admin's or a
moderator's is unknown, so everyone signs in again (sessions last 8 hours at most anyway).

Revision ID: 0006
Revises: 0005
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _user_ids(conn) -> dict[tuple[int, str], int]:
    """(forum id, casefolded username) -> forum user id, for members not erased."""
    rows = conn.execute(
        sa.text(
            "SELECT forum_id, username, forum_user_id FROM members "
            "WHERE username IS NOT NULL AND erased = :no"
        ),
        {"no": False},
    )
    return {(forum_id, name.casefold()): user_id for forum_id, name, user_id in rows}


def _resolve_programs(conn, known: dict[tuple[int, str], int]) -> None:
    for program_id, forum_id, admins in conn.execute(
        sa.text("SELECT id, forum_id, admins FROM programs")
    ).all():
        names = json.loads(admins or "[]")
        ids = [known.get((forum_id, str(name).casefold())) for name in names]
        conn.execute(
            sa.text("UPDATE programs SET admin_ids = :ids WHERE id = :id"),
            {"ids": json.dumps(ids), "id": program_id},
        )


def _resolve_drafts(conn, known: dict[tuple[int, str], int]) -> None:
    for draft_id, forum_id, created_by in conn.execute(
        sa.text(
            "SELECT d.id, p.forum_id, d.created_by FROM proposal_drafts d "
            "JOIN programs p ON p.id = d.program_id"
        )
    ).all():
        user_id = known.get((forum_id, str(created_by).casefold()))
        if user_id is not None:
            conn.execute(
                sa.text("UPDATE proposal_drafts SET created_by_id = :uid WHERE id = :id"),
                {"uid": user_id, "id": draft_id},
            )


def upgrade() -> None:
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admin_ids", sa.Text(), nullable=False, server_default="[]"))
    with op.batch_alter_table("proposal_drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
    op.execute("DELETE FROM admin_sessions")
    with op.batch_alter_table("admin_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=False))
        batch_op.add_column(
            sa.Column("is_forum_staff", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    conn = op.get_bind()
    known = _user_ids(conn)
    _resolve_programs(conn, known)
    _resolve_drafts(conn, known)


def downgrade() -> None:
    # Sessions without a user id would be sessions by username again: sign everyone out.
    op.execute("DELETE FROM admin_sessions")
    with op.batch_alter_table("admin_sessions", schema=None) as batch_op:
        batch_op.drop_column("is_forum_staff")
        batch_op.drop_column("user_id")
    with op.batch_alter_table("proposal_drafts", schema=None) as batch_op:
        batch_op.drop_column("created_by_id")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("admin_ids")
