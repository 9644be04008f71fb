"""The schedule: move due pairs along (the next step, a nudge, a check-in, the end).

A periodic job of the worker (plugin/domain/tables.py). It sits above pairs and journey,
which it drives, so that neither of them needs the other's schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import literal_column, select, tuple_
from sqlalchemy.orm import Session, selectinload, sessionmaker

from plugin.config import Config
from plugin.domain import hook_events, journey
from plugin.domain.messages import render_step
from plugin.domain.pairs import ACTIVE, post_to_pair, quiet_until, step_due
from plugin.domain.programs.service import steps
from plugin.domain.reader import pair_language
from plugin.engine.adapter import ForumAdapter
from plugin.engine.clock import Clock
from plugin.engine.outbox import batched
from plugin.storage.db import transaction
from plugin.storage.models import Pair, Program, Signup
from plugin.storage.states import PairState


def advance(session: Session, pair: Pair, program: Program, now: datetime, config: Config) -> bool:
    """Move a due pair along: end of a pause, the current step, a nudge, a check-in, the end."""
    if pair.state == PairState.PAUSED:
        if pair.pause_until is not None and now >= pair.pause_until:
            journey.resume(
                session,
                pair,
                program,
                now,
                f"pause-end:{pair.pause_until.isoformat()}",
                by_itself=True,
            )
            return True
        pair.next_due_at = pair.pause_until
        return False
    language = pair_language(pair, program)
    program_steps = steps(program, language)
    total = len(program_steps)
    if now >= step_due(pair, program, total + 1):
        journey.complete(session, pair, program, now)
        return True
    quiet = quiet_until(now, pair.mentee.timezone, program.quiet_start, program.quiet_end)
    did = False
    due = max(k for k in range(1, total + 1) if step_due(pair, program, k) <= now)
    if due > pair.step_scheduled and quiet is None:
        # Only the current step: a service that was down does not post a burst.
        text = render_step(program_steps, due, language)
        post_to_pair(session, pair, f"step:{due}", text, step=due)
        hook_events.emit_pair(session, "pair.step_posted", pair, now, step=due)
        pair.step_scheduled = due
        did = True
    elif quiet is None and now >= journey.nudge_due_at(pair, program):
        journey.nudge(session, pair, now)
        did = True
    checkin = journey.checkin_due_at(pair, program)
    if checkin is not None and now >= checkin:
        journey.alert_checkin(session, pair, program, now)
        did = True
    candidates = [step_due(pair, program, total + 1), journey.nudge_due_at(pair, program)]
    if pair.step_scheduled < total:
        candidates.append(step_due(pair, program, pair.step_scheduled + 1))
    checkin = journey.checkin_due_at(pair, program)
    if checkin is not None:
        candidates.append(checkin)
    next_due = min(candidates)
    if quiet is not None and next_due <= quiet:
        next_due = quiet
    pair.next_due_at = max(next_due, now + timedelta(microseconds=1)) if not did else now
    return did


# How often one visit may move a pair along at the same instant (a pause ends, then the
# step that fell due during it is posted): a bound, so a bug cannot loop forever.
MOVES_PER_VISIT = 4


def visit(session: Session, pair: Pair, now: datetime, config: Config) -> int:
    """Move a due pair along until nothing more is due now; how many moves it made.

    Done in one visit so that the pair leaves the due rows with its real next time: a
    pair put back as due "now" would be read again by the next pass (issue 12).
    """
    moves = 0
    while moves < MOVES_PER_VISIT and pair.state in ACTIVE:
        if not advance(session, pair, pair.program, now, config):
            break
        moves += 1
    return moves


def _batch(
    session: Session, now: datetime, after: tuple[datetime, int] | None, limit: int
) -> list[Pair]:
    """The next `limit` due pairs in (due time, id) order after the keyset `after`."""
    stmt = (
        select(Pair)
        # The literal states repeat the WHERE of the partial index ix_pairs_due_open, so the
        # batch is read from it in order, never sorted from every due row.
        .where(Pair.state.in_([literal_column(f"'{s.value}'") for s in ACTIVE]))
        .where(Pair.next_due_at <= now)
        .order_by(Pair.next_due_at, Pair.id)
        .limit(limit)
        # What advance reads of every pair, in one query per batch instead of one per pair.
        .options(
            selectinload(Pair.mentee).selectinload(Signup.member),
            selectinload(Pair.mentor).selectinload(Signup.member),
            selectinload(Pair.program),
        )
        .with_for_update(skip_locked=True)
    )
    if after is not None:
        stmt = stmt.where(tuple_(Pair.next_due_at, Pair.id) > after)
    return list(session.execute(stmt).scalars())


def schedule_due(
    factory: sessionmaker[Session],
    adapter_for: Callable[[int], ForumAdapter],
    clock: Clock,
    config: Config,
    limit: int = 200,
) -> int:
    """Periodic job: move every pair due now along, each visited once; how many moves."""
    now = clock.now()
    moves, after = 0, None
    while True:
        # One transaction per batch: locks are short, and a backlog drains in linear time
        # (each batch starts where the last one ended, in the order of an index).
        with transaction(factory) as session, batched(session):
            due = _batch(session, now, after, limit)
            if not due:
                return moves
            last_due = due[-1].next_due_at
            assert last_due is not None  # it was read because next_due_at <= now
            after = (last_due, due[-1].id)
            moves += sum(visit(session, pair, now, config) for pair in due)
        if len(due) < limit:
            return moves
