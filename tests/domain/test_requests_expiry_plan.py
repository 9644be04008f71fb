"""The expiry job reads only open requests: its plan walks ix_mentor_requests_open_expiry.

Answered requests are kept (status lists them) and outnumber the open ones by far; a job
whose plan touched them would slow down as they pile up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert, text

from plugin.domain.requests import due_requests
from plugin.storage.requests import MentorRequest
from tests.requests_support import make_self_service
from tests.web.admin.support import add_signup, make_program

NOW = datetime(2030, 1, 1, tzinfo=UTC)
KEPT, OPEN = 3000, 40


def _fill(sessions, forum_id: int) -> None:
    """KEPT answered requests, then OPEN open ones, half of them past their time."""
    program_id = make_program(sessions, forum_id)
    make_self_service(sessions, program_id)
    mentor = add_signup(sessions, program_id, "sam", "mentor")
    mentees = [add_signup(sessions, program_id, f"m{i}", "mentee") for i in range(OPEN)]
    rows = [
        {
            "program_id": program_id,
            "mentee_id": mentees[i % OPEN],
            "mentor_id": mentor,
            "state": "declined" if i < KEPT else "open",
            "created_at": NOW - timedelta(days=8),
            "expires_at": NOW - timedelta(days=1, minutes=i % 5 - (i % 2) * 2000),
        }
        for i in range(KEPT + OPEN)
    ]
    with sessions() as session:
        session.execute(insert(MentorRequest), rows)
        session.commit()


def test_the_expiry_batch_is_read_from_the_open_requests_index(sessions, forum):
    engine = sessions.kw["bind"]
    _fill(sessions, forum.id)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE mentor_requests"))
    seen: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM mentor_requests" in statement and "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with sessions() as session:
            due = due_requests(session, NOW, 10)
            statement, parameters = seen[-1]
            conn = session.connection()
            if engine.dialect.name == "sqlite":
                found = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plan = "\n".join(str(r[-1]) for r in found)
            else:
                found = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                plan = "\n".join(r[0] for r in found)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(due) == 10 and all(r.state == "open" and r.expires_at <= NOW for r in due)
    assert "ix_mentor_requests_open_expiry" in plan, plan
    assert "Seq Scan" not in plan and "TEMP B-TREE" not in plan, plan
