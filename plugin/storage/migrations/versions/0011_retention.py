"""retention: indexes to find processed events and sent calls by age; sent calls lose their
bodies

Revision ID: 0011
Revises: 0010
"""

import json

import sqlalchemy as sa
from alembic import context, op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# What a sent call keeps (plugin/engine/outbox.py, DIAGNOSIS_FIELDS), copied: a migration
# stays as it was written even when the code moves on.
KEPT = ("pair_id", "step", "thread", "thread_of")
BATCH = 500


def _cleared(payload: str) -> str:
    try:
        fields = json.loads(payload)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        fields = {}
    kept = {k: fields[k] for k in KEPT if k in fields}
    return json.dumps({**kept, "cleared": True}, separators=(",", ":"))


def _clear_sent_bodies() -> bool:
    """Calls sent before this revision kept their text (and any personal link): any cleared?"""
    conn = op.get_bind()
    last = 0
    cleared = False
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, payload FROM outbox_messages WHERE state = 'sent' AND id > :last "
                "AND payload NOT LIKE :cleared ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH, "cleared": '%"cleared":true%'},
        ).all()
        if not rows:
            return cleared
        cleared = True
        conn.execute(
            sa.text("UPDATE outbox_messages SET payload = :payload WHERE id = :id"),
            [{"id": row.id, "payload": _cleared(row.payload)} for row in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    """Revision 0011, retention (see the module docstring)."""
    # Plain CREATE INDEX, no batch: a batch rebuild on SQLite could cascade to child rows.
    op.create_index("ix_inbox_processed", "inbox_events", ["state", "processed_at"])
    op.create_index("ix_outbox_sent", "outbox_messages", ["state", "sent_at"])
    if _clear_sent_bodies():
        # plugin.storage.db.upgrade then wipes the old row versions (the text) from the files.
        context.config.attributes.setdefault("scrub_tables", set()).add("outbox_messages")


def downgrade() -> None:
    """Undo revision 0011, back to the schema before it (cleared bodies stay cleared)."""
    op.drop_index("ix_outbox_sent", table_name="outbox_messages")
    op.drop_index("ix_inbox_processed", table_name="inbox_events")
