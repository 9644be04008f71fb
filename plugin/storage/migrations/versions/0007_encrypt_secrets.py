"""encrypt forum secrets at rest: widen their columns and seal plain-text values

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import context, op

from plugin.storage import secretbox

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Frozen here rather than read from the models: this migration must keep meaning this set.
SECRETS = ["api_key", "webhook_secret", "connect_secret"]


def _has_rows(connection) -> bool:
    return connection.execute(sa.text("SELECT 1 FROM forums LIMIT 1")).first() is not None


def _retype(type_) -> None:
    # A sealed 500-character secret is about 770 characters. SQLite ignores VARCHAR lengths,
    # and a batch rebuild of `forums` there would cascade-delete its children (foreign keys
    # stay on inside the migration's transaction), so only PostgreSQL is altered.
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in SECRETS:
        op.alter_column("forums", name, type_=type_)


def upgrade() -> None:
    _retype(sa.Text())
    connection = op.get_bind()
    if _has_rows(connection):  # a fresh database needs no keys to migrate
        if secretbox.reseal_table(connection, "forums", SECRETS, plain_only=True):
            # plugin.storage.db.upgrade then wipes the plain-text row versions from the files.
            context.config.attributes.setdefault("scrub_tables", set()).add("forums")


def downgrade() -> None:
    connection = op.get_bind()
    if _has_rows(connection):
        ring = secretbox.keyring()
        raw = sa.table("forums", sa.column("id"), *(sa.column(c) for c in SECRETS))
        for row in connection.execute(sa.select(raw)).mappings().all():
            plain = {c: ring.unseal(row[c]) for c in SECRETS if row[c] is not None}
            connection.execute(sa.update(raw).where(raw.c.id == row["id"]).values(**plain))
    _retype(sa.String(length=500))
