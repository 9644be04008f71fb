"""Issue 12: a backlog of due pairs drains in linear time, each pair visited once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event, update

from plugin.domain.pairs import create_pair
from plugin.domain.schedule import schedule_due
from plugin.engine.clock import Clock
from plugin.storage.db import transaction
from plugin.storage.models import Pair, Program, Signup
from tests.web.admin.support import add_signup, make_program

NOW = datetime(2030, 3, 4, 12, 0, tzinfo=UTC)  # midday UTC: outside the quiet hours
BATCH = 4  # small, so that several batches are read


def _due_pairs(sessions, program_id: int, count: int, first: int) -> None:
    """`count` pairs, paired three weeks before NOW (cadence 7 days) and due now."""
    pairs = []
    for i in range(first, first + count):
        mentor = add_signup(sessions, program_id, f"mentor{i}", "mentor")
        mentee = add_signup(sessions, program_id, f"mentee{i}", "mentee")
        with transaction(sessions) as db:
            pair = create_pair(
                db,
                db.get_one(Program, program_id),
                db.get_one(Signup, mentor),
                db.get_one(Signup, mentee),
                NOW - timedelta(days=15),
            )
            db.flush()
            pairs.append(pair.id)
    with transaction(sessions) as db:
        db.execute(update(Pair).where(Pair.id.in_(pairs)).values(next_due_at=NOW))


def _drain(sessions, config) -> tuple[int, int]:
    """Run the scheduler until it moves nothing; (statements issued, moves made)."""
    engine: Engine = sessions.kw["bind"]
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine, "before_cursor_execute", count)
    moves = 0
    try:
        for _ in range(10):
            moved = schedule_due(sessions, lambda _f: None, Clock(NOW), config, limit=BATCH)
            moves += moved
            if not moved:
                break
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statements, moves


def test_each_due_pair_is_loaded_once_while_a_backlog_drains(config, sessions, forum):
    program_id = make_program(sessions, forum.id, cadence=7)
    _due_pairs(sessions, program_id, 9, 0)
    loads: Counter[int] = Counter()

    def loaded(pair: Pair, _context) -> None:
        loads[pair.id] += 1

    event.listen(Pair, "load", loaded)
    try:
        _statements, moves = _drain(sessions, config)
    finally:
        event.remove(Pair, "load", loaded)
    assert moves >= 9  # every pair had its due step posted
    assert len(loads) == 9 and set(loads.values()) == {1}


def test_draining_a_backlog_takes_statements_linear_in_its_size(config, sessions, forum):
    program_id = make_program(sessions, forum.id, cadence=7)
    _due_pairs(sessions, program_id, 8, 0)
    small, _ = _drain(sessions, config)
    _due_pairs(sessions, program_id, 32, 100)
    large, _ = _drain(sessions, config)
    # Four times the pairs: four times the statements, give or take a batch's overhead.
    assert 3 * small <= large <= 4 * small + 8
