"""The claim reads only unfinished rows: its plan walks the partial indexes of open rows.

Finished rows are kept (deduplication, diagnosis) and outnumber the waiting ones by far;
a claim whose plan touched them would slow down as they pile up (issue 12).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, insert, text
from sqlalchemy.orm import Session

from plugin.engine.leases import claim
from plugin.storage.models import EPOCH, InboxEvent, OutboxMessage
from plugin.storage.states import QueueState
from plugin.storage.webhooks import WebHook, WebHookDelivery

NOW = datetime(2030, 1, 1, tzinfo=UTC)
KEPT, WAITING = 3000, 40


def _fill(session: Session, model: type, forum_id: int) -> None:
    """KEPT finished rows in a few threads, then WAITING open ones in the same threads."""
    finished = QueueState.DONE if model is InboxEvent else QueueState.SENT
    hook = WebHook(url="https://hooks.example/in", events="[]", secret="whsec_c2VjcmV0")
    session.add(hook)
    session.flush()
    rows = []
    for i in range(KEPT + WAITING):
        row = {
            "forum_id": forum_id,
            "state": finished if i < KEPT else QueueState.PENDING,
            "ordering_key": f"thread:{i % 7}",
            "attempts": 0,
            "run_at": EPOCH,
            "created_at": NOW,
        }
        if model is InboxEvent:
            row |= {"event": "post", "content_key": f"k{i}"}
        elif model is WebHookDelivery:
            del row["forum_id"]
            row |= {"hook_id": hook.id, "message_id": f"msg_{i}", "event_type": "pair.created",
                    "body": "{}"}  # fmt: skip
        else:
            row |= {"key": f"k{i}", "kind": "post", "payload": "{}", "uncertain": False}
        rows.append(row)
    session.execute(insert(model), rows)
    session.commit()


def _claim_plan(engine: Engine, model: type) -> str:
    """Claim once, capture the claim's SELECT, and return the database's plan of it."""
    seen: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().startswith("SELECT") and "EXISTS" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with Session(engine) as session:
            rows = claim(session, model, owner="w", now=NOW, lease=timedelta(seconds=30), limit=5)
            assert len(rows) == 5  # one per thread at most, and all seven threads wait
            statement, parameters = seen[-1]
            conn = session.connection()
            if engine.dialect.name == "sqlite":
                found = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                return "\n".join(str(r[-1]) for r in found)
            found = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            return "\n".join(r[0] for r in found)
    finally:
        event.remove(engine, "before_cursor_execute", keep)


@pytest.mark.parametrize(
    "model",
    [InboxEvent, OutboxMessage, WebHookDelivery],
    ids=["inbox", "outbox", "webhook_deliveries"],
)
def test_the_ordering_check_of_a_claim_reads_only_the_open_rows_index(sessions, forum, model):
    engine = sessions.kw["bind"]
    with sessions() as session:
        _fill(session, model, forum.id)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"ANALYZE {model.__tablename__}"))
    plan = _claim_plan(engine, model)
    prefix = {InboxEvent: "ix_inbox", OutboxMessage: "ix_outbox"}.get(
        model, "ix_webhook_deliveries"
    )
    # The held-back check goes through an index of open rows, never the index of every row
    # of a thread, the primary key or the whole table.
    assert f"{prefix}_open" in plan
    assert f"{prefix}_ordering" not in plan
    assert "pkey" not in plan and "Seq Scan" not in plan
    # No other index either: the retention purge's (state, sent/processed time) index read
    # every waiting row when the planner underestimated them.
    used = set(re.findall(r"(?:USING INDEX|USING COVERING INDEX|using|on) (ix_\w+)", plan))
    assert used and all(name.startswith(f"{prefix}_open") for name in used), plan
    # A scan is only ever a walk of the open rows' index, in id order.
    scans = [line for line in plan.splitlines() if line.startswith("SCAN")]
    assert all(f"USING INDEX {prefix}_open" in line for line in scans)
