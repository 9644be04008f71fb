"""Erasure: when the forum deletes a member, their personal data leaves our files too.

What stays is an anonymous tombstone (the member row with no name, marked erased) so that
pairs, activity and reports stay consistent and a replayed webhook cannot bring the
member back. SQLite overwrites freed space (secure_delete) and its WAL is checkpointed and
truncated; on PostgreSQL the touched tables are rewritten (VACUUM FULL), so old row
versions do not linger in the table files.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import Engine, delete, event, false, or_, select, text, update
from sqlalchemy.orm import Session

from plugin.domain.drafts import forget_signups
from plugin.domain.pairs import end_pairs_of
from plugin.engine.inbox import HandlerContext
from plugin.engine.leases import OPEN_STATES
from plugin.storage.models import (
    AdminSession,
    Feedback,
    InboxEvent,
    Member,
    OutboxMessage,
    Pair,
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
)
REDACTED = json.dumps({"erased": True})


def _needles(member: Member) -> list[str]:
    """The strings that would identify the member in a stored message."""
    found = []
    for value in (member.username, member.name):
        if value and len(value) >= 3:
            found += [value, json.dumps(value)[1:-1]]  # as written, and as JSON escapes it
    return sorted(set(found))


def erase_member(session: Session, forum_id: int, user_id: int, now: datetime) -> bool:
    """Erase what we keep about a forum user; True when there was anything to erase."""
    _drop_pending_events(session, forum_id, user_id)
    member = session.execute(
        select(Member).where(Member.forum_id == forum_id, Member.forum_user_id == user_id)
    ).scalar_one_or_none()
    if member is None or member.erased:
        return False
    signups = session.execute(select(Signup).where(Signup.member_id == member.id)).scalars().all()
    for signup in signups:
        end_pairs_of(session, signup, reason="erased", now=now)  # the partner is told first
        signup.state = SignupState.WITHDRAWN
        signup.about = signup.topics = signup.timezone = None
        signup.age_confirmed = False
    signup_ids = [s.id for s in signups]
    pair_keys = []
    if signup_ids:
        pairs = session.execute(
            select(Pair.id).where(
                or_(Pair.mentor_id.in_(signup_ids), Pair.mentee_id.in_(signup_ids))
            )
        ).scalars()
        pair_keys = [f"pair:{p}" for p in pairs]
    _scrub_outbox(session, member, pair_keys)
    session.execute(update(Report).where(Report.reporter_id == member.id).values(text=None))
    session.execute(update(Feedback).where(Feedback.member_id == member.id).values(comment=None))
    forget_signups(session, signup_ids)  # draft proposals quote their topics
    if member.username:
        session.execute(
            delete(AdminSession).where(
                AdminSession.forum_id == forum_id, AdminSession.username == member.username
            )
        )
    member.username = member.name = None
    member.erased = True
    _scrub_files_after_commit(session)
    return True


def _drop_pending_events(session: Session, forum_id: int, user_id: int) -> None:
    # Stored webhook bodies hold only ids, but an unprocessed one would act for the member.
    session.execute(
        update(InboxEvent)
        .where(
            InboxEvent.forum_id == forum_id,
            InboxEvent.state == QueueState.PENDING,
            InboxEvent.event != "user_destroyed",
            or_(
                InboxEvent.ordering_key == f"user:{user_id}",
                InboxEvent.payload.contains(f'"user_id":{user_id},', autoescape=True),
                InboxEvent.payload.contains(f'"user_id":{user_id}}}', autoescape=True),
            ),
        )
        .values(payload=None, state=QueueState.DONE, last_error="dropped: the member was erased")
    )


def _scrub_outbox(session: Session, member: Member, pair_keys: list[str]) -> None:
    naming = or_(
        *[OutboxMessage.payload.contains(n, autoescape=True) for n in _needles(member)],
        OutboxMessage.ordering_key == f"member:{member.id}",
    )
    # Their messages, and anything naming them: not sent yet, it is cancelled.
    for row in session.execute(select(OutboxMessage).where(naming)).scalars():
        row.payload = REDACTED
        if row.state in OPEN_STATES:
            row.state, row.last_error = QueueState.DEAD, "cancelled: the member was erased"
    # A forum's error text can quote them too (Zulip: "'x@example.com' is no longer ...").
    for column_owner in (OutboxMessage, InboxEvent):
        session.execute(
            update(column_owner)
            .where(
                or_(
                    *[
                        column_owner.last_error.contains(n, autoescape=True)
                        for n in _needles(member)
                    ]
                    or [false()]
                )
            )
            .values(last_error="(removed: it named an erased member)")
        )
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


def _scrub_files_after_commit(session: Session) -> None:
    engine = session.get_bind()

    def scrub(_session) -> None:
        try:
            scrub_files(engine)
        except Exception:  # noqa: BLE001 - the data is deleted; file hygiene is retried later
            log.exception("could not scrub database files after an erasure")

    event.listen(session, "after_commit", scrub, once=True)


def scrub_files(engine: Engine) -> None:
    """Make deleted data unreadable from the database's files."""
    if engine.dialect.name == "sqlite":
        # On the driver connection, outside any transaction: a checkpoint cannot run in one.
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            raw.close()
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in TOUCHED:
                conn.execute(text(f"VACUUM FULL {table}"))


def on_user_destroyed(ctx: HandlerContext, ev: dict) -> None:
    """The forum deleted (Discourse) or deactivated (Zulip) a member."""
    erase_member(ctx.session, ctx.forum.id, ev["user_id"], ctx.clock.now())
