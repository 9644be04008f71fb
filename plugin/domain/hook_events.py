"""The service's own events for outgoing webhooks (docs/operator-interface.md).

`data` carries ids, usernames and the step, never what members wrote: the helpers here
build it from rows, so no caller can slip a report's text or a profile answer into it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, object_session

from plugin.engine import hooks
from plugin.storage.models import Pair, Report, Signup

EVENT_TYPES = (
    "signup.ready",
    "pair.created",
    "pair.step_posted",
    "pair.paused",
    "pair.resumed",
    "pair.ended",
    "pair.completed",
    "report.created",
    "member.erased",
)
# The data fields that name a member: erasure forgets deliveries naming them.
USERNAME_FIELDS = ("mentor", "mentee", "member")


def emit(session: Session, event_type: str, data: dict[str, Any], now: datetime) -> int:
    """Queue `event_type` for every hook that wants it, in the caller's transaction."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return hooks.enqueue_event(session, event_type, data, now)


def pair_data(pair: Pair, **extra: Any) -> dict[str, Any]:
    """A pair's ids and its members' usernames (and `extra`, e.g. the step)."""
    return {
        "program": pair.program_id,
        "pair": pair.id,
        "mentor": pair.mentor.member.username,
        "mentee": pair.mentee.member.username,
        **extra,
    }


def emit_pair(session: Session, event_type: str, pair: Pair, now: datetime, **extra: Any) -> int:
    """Queue a pair's event with its ids and usernames."""
    if not hooks.wanting(session, event_type):  # no hook: no need to load the members
        return 0
    return emit(session, event_type, pair_data(pair, **extra), now)


def emit_signup_ready(signup: Signup, now: datetime) -> int:
    """Queue signup.ready (program, member, role) in the session the sign-up belongs to."""
    session = object_session(signup)
    assert session is not None  # a sign-up made ready was loaded or added in a session
    data = {"program": signup.program_id, "member": signup.member.username, "role": signup.role}
    return emit(session, "signup.ready", data, now)


def emit_report(session: Session, report: Report, now: datetime) -> int:
    """Queue report.created: ids and kind only, never the text nor who reported."""
    # Who reported is for the program's admins alone (the partner is never told), so it
    # does not leave the service either.
    session.flush()
    data = {"program": report.program_id, "pair": report.pair_id, "report": report.id}
    return emit(session, "report.created", {**data, "kind": report.kind}, now)


def forget_member(session: Session, usernames: set[str]) -> int:
    """Drop deliveries not yet sent that name any of `usernames` (erasure)."""
    return hooks.forget_naming(session, usernames, USERNAME_FIELDS)
