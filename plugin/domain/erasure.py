"""Erasure: when the forum deletes a member, their personal data leaves our files too.

What stays is an anonymous tombstone (the member row with no name, marked erased) so that
pairs, activity and reports stay consistent and a replayed webhook cannot bring the
member back. SQLite overwrites freed space (secure_delete) and its WAL is checkpointed and
truncated; on PostgreSQL the touched tables are vacuumed (a plain VACUUM, which blocks no
webhook), so old row versions are freed for reuse.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    delete,
    event,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from plugin.domain import hook_events
from plugin.domain.drafts import forget_signups
from plugin.domain.pairs import end_pairs_of
from plugin.domain.programs import service
from plugin.domain.requests import close_for_erased
from plugin.engine.inbox import HandlerContext
from plugin.engine.leases import OPEN_STATES
from plugin.storage.db import scrub_old_versions
from plugin.storage.expertise import MemberExpertise
from plugin.storage.models import (
    AdminSession,
    Feedback,
    InboxEvent,
    Member,
    OutboxMessage,
    Pair,
    Program,
    ProposalDraft,
    Report,
    Signup,
)
from plugin.storage.states import QueueState, SignupState

log = logging.getLogger(__name__)
TOUCHED = (
    "members",
    "signups",
    "reports",
    "feedback",
    "outbox_messages",
    "inbox_events",
    "proposal_items",
    "admin_sessions",
    # The erased person's place in programs' --admins and their drafts' author.
    "programs",
    "proposal_drafts",
)
REDACTED = json.dumps({"erased": True})
ERASED = "(erased)"  # a draft's author, once erased


def _needles(names: set[str]) -> list[str]:
    """The strings that would identify the person in a stored message."""
    found = []
    for value in names:
        if value and len(value) >= 3:
            found += [value, json.dumps(value)[1:-1]]  # as written, and as JSON escapes it
    return sorted(set(found))


def erase_member(session: Session, forum_id: int, user_id: int, now: datetime) -> bool:
    """Erase what we keep about a forum user; True when there was anything to erase."""
    # Member or not: admins have often never signed up, yet admin lists and sessions name them.
    member = session.execute(
        select(Member).where(Member.forum_id == forum_id, Member.forum_user_id == user_id)
    ).scalar_one_or_none()
    if member is not None and member.erased:
        member = None  # erased before: only admin traces can be left
    usernames = _usernames_of(session, forum_id, user_id, member)
    needles = _needles(usernames | ({member.name} if member and member.name else set()))
    folded = {u.casefold() for u in usernames}
    found = _drop_events(session, forum_id, user_id, needles)
    found = _forget_admin(session, forum_id, user_id, folded) or found
    pair_keys = _erase_profile(session, member, now) if member is not None else []
    found = _scrub_outbox(session, needles, member, pair_keys) or found or member is not None
    found = hook_events.forget_member(session, usernames) > 0 or found
    if member is not None:
        # Last, after the deliveries naming them are gone: the one event that still names
        # them tells subscribers whom to forget, and its body is emptied once delivered.
        hook_events.emit(session, "member.erased", {"member": member.username}, now)
        member.username = member.name = member.locale = None  # the language is personal too
        member.erased = True
    if found:
        _scrub_files_after_commit(session)
    return found


def _usernames_of(session: Session, forum_id: int, user_id: int, member: Member | None) -> set[str]:
    """Every username we hold for this forum user: as a member, an admin, a draft's author."""
    names = {member.username} if member is not None and member.username else set()
    names |= set(
        session.execute(
            select(AdminSession.username).where(
                AdminSession.forum_id == forum_id, AdminSession.user_id == user_id
            )
        ).scalars()
    )
    programs = session.execute(select(Program).where(Program.forum_id == forum_id)).scalars()
    for program in programs:
        names |= set(service.admin_usernames_of(program, user_id))
    names |= set(
        session.execute(
            select(ProposalDraft.created_by)
            .join(Program, Program.id == ProposalDraft.program_id)
            .where(Program.forum_id == forum_id, ProposalDraft.created_by_id == user_id)
        ).scalars()
    )
    return {n for n in names if n}


def _erase_profile(session: Session, member: Member, now: datetime) -> list[str]:
    """End their pairings, clear their sign-ups, reports and ratings; their pairs' keys."""
    signups = session.execute(select(Signup).where(Signup.member_id == member.id)).scalars().all()
    for signup in signups:
        end_pairs_of(session, signup, reason="erased", now=now)  # the partner is told first
        signup.state = SignupState.WITHDRAWN
        signup.about = signup.topics = signup.timezone = None
        signup.age_confirmed = False
    signup_ids = [s.id for s in signups]
    close_for_erased(session, signup_ids, now)  # their open requests, asking or asked
    pair_keys = []
    if signup_ids:
        pairs = session.execute(
            select(Pair.id).where(
                or_(Pair.mentor_id.in_(signup_ids), Pair.mentee_id.in_(signup_ids))
            )
        ).scalars()
        pair_keys = [f"pair:{p}" for p in pairs]
    session.execute(update(Report).where(Report.reporter_id == member.id).values(text=None))
    session.execute(update(Feedback).where(Feedback.member_id == member.id).values(comment=None))
    forget_signups(session, signup_ids)  # draft proposals quote their topics
    # What the forum said about their activity goes too; a tombstone is never read again.
    session.execute(delete(MemberExpertise).where(MemberExpertise.member_id == member.id))
    return pair_keys


def _forget_admin(session: Session, forum_id: int, user_id: int, folded: set[str]) -> bool:
    """Off every admin list, their drafts anonymous, their sessions ended: anything found?"""
    found = False
    for program in session.execute(select(Program).where(Program.forum_id == forum_id)).scalars():
        found = service.forget_admin(program, user_id, folded) or found
    programs = select(Program.id).where(Program.forum_id == forum_id)
    by_name = func.lower(ProposalDraft.created_by).in_(sorted(folded)) if folded else false()
    drafts = session.execute(
        update(ProposalDraft)
        .where(
            ProposalDraft.program_id.in_(programs),
            or_(ProposalDraft.created_by_id == user_id, by_name),
        )
        .values(created_by=ERASED, created_by_id=None)
    )
    # Sessions by id; by name as well, ignoring case, as forums compare usernames.
    session_name = func.lower(AdminSession.username).in_(sorted(folded)) if folded else false()
    sessions = session.execute(
        delete(AdminSession).where(
            AdminSession.forum_id == forum_id,
            or_(AdminSession.user_id == user_id, session_name),
        )
    )
    return found or bool(drafts.rowcount) or bool(sessions.rowcount)  # type: ignore[attr-defined]  # DML via Session.execute returns a CursorResult


def _quotes(column: InstrumentedAttribute[Any], needle: str) -> ColumnElement[bool]:
    # Ignoring case: forums compare usernames so, and their error texts may capitalise them.
    return func.lower(column).contains(needle.lower(), autoescape=True)


def _drop_events(session: Session, forum_id: int, user_id: int, needles: list[str]) -> bool:
    """Drop their pending and failed events, and failed ones naming them: anything found?"""
    # A pending event would act for them; a failed one keeps its body. Another's pending
    # event that merely names them is theirs to act on, so it stays.
    theirs = or_(
        InboxEvent.ordering_key == f"user:{user_id}",
        InboxEvent.payload.contains(f'"user_id":{user_id},', autoescape=True),
        InboxEvent.payload.contains(f'"user_id":{user_id}}}', autoescape=True),
    )
    naming = or_(*[_quotes(InboxEvent.payload, n) for n in needles] or [false()])
    result = session.execute(
        update(InboxEvent)
        .where(
            InboxEvent.forum_id == forum_id,
            InboxEvent.event != "user_destroyed",
            or_(
                and_(InboxEvent.state == QueueState.PENDING, theirs),
                and_(InboxEvent.state == QueueState.FAILED, or_(theirs, naming)),
            ),
        )
        .values(payload=None, state=QueueState.DONE, last_error="dropped: the member was erased")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # DML via Session.execute returns a CursorResult


def _scrub_outbox(
    session: Session, needles: list[str], member: Member | None, pair_keys: list[str]
) -> bool:
    """Calls naming them (sent, pending or dead) keep no trace of them: anything found?"""
    naming = or_(
        *[_quotes(OutboxMessage.payload, n) for n in needles],
        OutboxMessage.ordering_key == f"member:{member.id}" if member is not None else false(),
    )
    found = False
    # Their messages, and anything naming them: not sent yet, it is cancelled.
    for row in session.execute(select(OutboxMessage).where(naming)).scalars():
        found = True
        row.payload = REDACTED
        if row.state in OPEN_STATES:
            row.state, row.last_error = QueueState.DEAD, "cancelled: the member was erased"
    # A forum's error text can quote them too (Zulip: "'x@example.com' is no longer ...").
    for column_owner in (OutboxMessage, InboxEvent):
        result = session.execute(
            update(column_owner)
            .where(
                or_(*[_quotes(column_owner.last_error, n) for n in needles]) if needles else false()
            )
            .values(last_error="(removed: it named an erased member)")
        )
        found = found or bool(result.rowcount)  # type: ignore[attr-defined]  # DML via Session.execute returns a CursorResult
    # The pair threads' history (introductions quote the profile) is redacted once sent;
    # what is still to be sent there (e.g. telling the partner) goes out.
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.ordering_key.in_(pair_keys),
            OutboxMessage.state.in_((QueueState.SENT, QueueState.DEAD)),
        )
        .values(payload=REDACTED)
    )
    return found


def _scrub_files_after_commit(session: Session) -> None:
    # The app's sessions are bound to its Engine, never to a Connection.
    engine = cast(Engine, session.get_bind())

    def scrub(_session: Session) -> None:
        """Scrub the files once the erasure has committed; a failure is only logged."""
        try:
            scrub_files(engine)
        except Exception:  # noqa: BLE001 - the data is deleted; file hygiene is retried later
            log.exception("could not scrub database files after an erasure")

    event.listen(session, "after_commit", scrub, once=True)


def scrub_files(engine: Engine) -> None:
    """Make deleted data unreadable from the database's files."""
    scrub_old_versions(engine, list(TOUCHED))


def on_user_destroyed(ctx: HandlerContext, ev: dict) -> None:
    """The forum deleted (Discourse) or deactivated (Zulip) a member."""
    erase_member(ctx.session, ctx.forum.id, ev["user_id"], ctx.clock.now())
