"""The schedule: move due pairs along (the next step, a nudge, a check-in, the end).

A periodic job of the worker (plugin/domain/tables.py). It sits above pairs and journey,
which it drives, so that neither of them needs the other's schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from plugin.config import Config
from plugin.domain import hook_events, journey
from plugin.domain.messages import render_step
from plugin.domain.pairs import ACTIVE, post_to_pair, quiet_until, step_due
from plugin.domain.programs.service import steps
from plugin.engine.adapter import ForumAdapter
from plugin.engine.clock import Clock
from plugin.storage.db import transaction
from plugin.storage.models import Pair, Program
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
    program_steps = steps(program)
    total = len(program_steps)
    if now >= step_due(pair, program, total + 1):
        journey.complete(
            session, pair, program, now, secret=config.secret_key, base_url=config.base_url
        )
        return True
    quiet = quiet_until(now, pair.mentee.timezone, program.quiet_start, program.quiet_end)
    did = False
    due = max(k for k in range(1, total + 1) if step_due(pair, program, k) <= now)
    if due > pair.step_scheduled and quiet is None:
        # Only the current step: a service that was down does not post a burst.
        post_to_pair(session, pair, f"step:{due}", render_step(program_steps, due), step=due)
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


def schedule_due(
    factory: sessionmaker[Session],
    adapter_for: Callable[[int], ForumAdapter],
    clock: Clock,
    config: Config,
    limit: int = 200,
) -> int:
    """Periodic job: move every due pair along."""
    now = clock.now()
    with transaction(factory) as session:
        due = (
            session.execute(
                select(Pair)
                .where(Pair.state.in_(ACTIVE), Pair.next_due_at <= now)
                .order_by(Pair.next_due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        return sum(advance(session, p, p.program, now, config) for p in due)
