"""Database models (SQLAlchemy 2.0 declarative).

What is stored is deliberately small: who did what and when, never what pair members write
to each other (docs/operator-interface.md, "Member-facing behaviour").
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from plugin.storage.db import UTCDateTime
from plugin.storage.indexes import RUNNING_PAIRS, finished_index, open_index
from plugin.storage.secretbox import EncryptedText
from plugin.storage.states import (
    PairState,
    ProgramState,
    ProposalState,
    QueueState,
    ReportKind,
    ReportState,
    Role,
    SignupState,
    Space,
    column,
)

# Rows that are due at any logical time (see plugin.engine.clock): the epoch, never NULL, so
# every claim compares run_at the same way.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    """The real wall-clock time, UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class Forum(Base):
    """A connected forum: where to call it and how to check what it sends."""

    __tablename__ = "forums"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # a name in plugin/forums/registry.py
    url: Mapped[str] = mapped_column(String(500))
    # Secrets are plain str here and encrypted in the database (plugin/secretbox.py).
    api_key: Mapped[str] = mapped_column(EncryptedText())
    bot_user: Mapped[str] = mapped_column(String(255))  # Discourse username / Zulip bot email
    webhook_secret: Mapped[str] = mapped_column(EncryptedText())  # Discourse secret / Zulip token
    # The secret it replaced, still accepted for a while after `webhook_secret_replaced_at`
    # (MENTORSHIP_SECRET_OVERLAP_SECONDS): deliveries signed just before a change still count.
    previous_webhook_secret: Mapped[str | None] = mapped_column(EncryptedText())
    webhook_secret_replaced_at: Mapped[datetime | None]
    connect_secret: Mapped[str | None] = mapped_column(EncryptedText())
    request_budget: Mapped[int] = mapped_column(Integer)  # forum calls per rolling minute
    paused_until: Mapped[datetime | None]  # a 429's Retry-After, on the logical clock
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueRow:
    """Columns shared by the inbox and the outbox: a leased, retried unit of work."""

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[QueueState] = mapped_column(column(QueueState, 16), default=QueueState.PENDING)
    # Rows with the same ordering key are worked strictly in id order (one thread, one member).
    ordering_key: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column(default=EPOCH)  # logical clock
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]  # real clock: it guards against dead processes
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxEvent(QueueRow, Base):
    """A webhook event, stored (minimised) before it was acknowledged."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        # Deduplicated by what the event is; a delivery id can be reused (a restored forum).
        UniqueConstraint("forum_id", "content_key", name="uq_inbox_content"),
        Index("ix_inbox_ordering", "ordering_key", "id"),
        open_index("ix_inbox_open", "id"),
        open_index("ix_inbox_open_ordering", "ordering_key", "id"),
        finished_index("ix_inbox_processed", "processed_at", "done"),  # the retention purge
    )

    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    delivery_id: Mapped[str | None] = mapped_column(String(64))  # for logs and diagnosis
    event: Mapped[str] = mapped_column(String(64))
    content_key: Mapped[str] = mapped_column(String(200))
    # Only the fields the service uses; cleared once the event is processed.
    payload: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]


class OutboxMessage(QueueRow, Base):
    """A call to a forum, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_ordering", "ordering_key", "id"),
        open_index("ix_outbox_open", "id"),
        open_index("ix_outbox_open_ordering", "ordering_key", "id"),
        finished_index("ix_outbox_sent", "sent_at", "sent"),  # the retention purge
    )

    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), unique=True)  # idempotency key
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # no text once sent or given up
    # A previous attempt may have reached the forum: look for it before sending again.
    uncertain: Mapped[bool] = mapped_column(default=False)
    result: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class ForumCall(Base):
    """One request made to a forum, kept for a minute to hold the shared request budget."""

    __tablename__ = "forum_calls"
    __table_args__ = (Index("ix_forum_calls_window", "forum_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    at: Mapped[datetime]  # logical clock


class Program(Base):
    """A mentorship program hosted in one forum group, with its own copy of the steps."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    template_key: Mapped[str] = mapped_column(String(40))
    template: Mapped[str] = mapped_column(Text)  # JSON: the steps as they were at creation
    state: Mapped[ProgramState] = mapped_column(
        column(ProgramState, 16), default=ProgramState.DRAFT
    )
    group_name: Mapped[str] = mapped_column(String(100))
    group_id: Mapped[int] = mapped_column(Integer)
    mentor_group_name: Mapped[str] = mapped_column(String(100))
    mentor_group_id: Mapped[int] = mapped_column(Integer, index=True)
    mentee_group_name: Mapped[str] = mapped_column(String(100))
    mentee_group_id: Mapped[int] = mapped_column(Integer, index=True)
    cadence_days: Mapped[float]
    quiet_start: Mapped[str] = mapped_column(String(5), default="22:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    admins: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of usernames
    # JSON list of the forum's user ids for `admins`, index for index (null: an old row the
    # upgrade could not resolve). Access follows these ids; usernames can change hands.
    admin_ids: Mapped[str] = mapped_column(Text, default="[]")
    reconciled_at: Mapped[datetime | None]  # last membership reconciliation (logical)
    # What members read, unless their forum account names another supported language
    # (plugin/i18n.py): `en`, `de`.
    language: Mapped[str] = mapped_column(String(10), default="en", server_default="en")
    # Mentees choose a mentor from the directory and the mentor accepts (issue 14).
    self_service: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # Where `!ask` posts questions publicly: a Discourse category id or a Zulip stream name
    # (at most one, per the forum's kind; neither: the program has no public place).
    public_category: Mapped[int | None] = mapped_column(Integer, default=None)
    public_stream: Mapped[str | None] = mapped_column(String(100), default=None)
    # The pairs' space: a private message, or a Discourse chat channel (`--space chat`).
    space: Mapped[Space] = mapped_column(column(Space, 8), default=Space.PM, server_default="pm")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    forum: Mapped[Forum] = relationship()


class Member(Base):
    """A forum user the service knows; erased to a tombstone when the forum deletes them."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("forum_id", "forum_user_id", name="uq_member_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    forum_user_id: Mapped[int] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    erased: Mapped[bool] = mapped_column(default=False)
    # The supported language the member's forum account names (Discourse's user locale),
    # null when it names none: then they read the program's language.
    locale: Mapped[str | None] = mapped_column(String(10))

    forum: Mapped[Forum] = relationship()


class Signup(Base):
    """A member's sign-up to a program as mentor or mentee, and their profile."""

    __tablename__ = "signups"
    __table_args__ = (UniqueConstraint("program_id", "member_id", "role", name="uq_signup"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(column(Role, 8))
    state: Mapped[SignupState] = mapped_column(column(SignupState, 16), default=SignupState.PENDING)
    about: Mapped[str | None] = mapped_column(Text)
    topics: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str | None] = mapped_column(String(64))
    age_confirmed: Mapped[bool] = mapped_column(default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[bool] = mapped_column(default=False)  # pairing ended without their doing
    link_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[datetime | None]

    program: Mapped[Program] = relationship()
    member: Mapped[Member] = relationship()


class Pair(Base):
    """A mentor and a mentee in one program, with their private thread and schedule."""

    __tablename__ = "pairs"
    __table_args__ = (
        Index("ix_pairs_thread", "forum_id", "thread"),
        # The scheduler's batches, in (due time, id) order: running pairs only. It replaced
        # ix_pairs_due (state, next_due_at), which SQLite preferred and then sorted every due
        # row once per batch, making a backlog quadratic.
        Index(
            "ix_pairs_due_open",
            "next_due_at",
            "id",
            sqlite_where=text(RUNNING_PAIRS),
            postgresql_where=text(RUNNING_PAIRS),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    state: Mapped[PairState] = mapped_column(column(PairState, 16), default=PairState.ACTIVE)
    thread: Mapped[str | None] = mapped_column(String(64))
    paired_at: Mapped[datetime]
    step_scheduled: Mapped[int] = mapped_column(Integer, default=1)  # latest step enqueued
    step_posted: Mapped[int] = mapped_column(Integer, default=0)  # latest step the forum has
    next_due_at: Mapped[datetime | None]  # when the scheduler should look at this pair again
    last_activity_at: Mapped[datetime | None]
    nudges: Mapped[int] = mapped_column(Integer, default=0)
    last_nudge_at: Mapped[datetime | None]
    paused_seconds: Mapped[float] = mapped_column(default=0.0)
    paused_at: Mapped[datetime | None]
    pause_until: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    steps_done: Mapped[int] = mapped_column(Integer, default=0)  # latest step marked !done
    checkin_alerted_at: Mapped[datetime | None]  # admins told the pair went silent

    program: Mapped[Program] = relationship()
    mentor: Mapped[Signup] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[Signup] = relationship(foreign_keys=[mentee_id])


class Activity(Base):
    """Who posted in a pair's thread and when (the forum's timestamp), never what."""

    __tablename__ = "activities"
    __table_args__ = (UniqueConstraint("pair_id", "post_id", name="uq_activity_post"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    post_id: Mapped[str] = mapped_column(String(64))
    posted_at: Mapped[datetime]


class Report(Base):
    """A member's `!report`: for the program's admins, never the pair's conversation."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id", ondelete="SET NULL"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[ReportKind] = mapped_column(column(ReportKind, 16), default=ReportKind.REPORT)
    text: Mapped[str | None] = mapped_column(Text)
    state: Mapped[ReportState] = mapped_column(column(ReportState, 16), default=ReportState.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    pair: Mapped[Pair | None] = relationship()
    reporter: Mapped[Member] = relationship()


class Feedback(Base):
    """A member's rating of a completed pairing (1 to 5, optional word)."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("pair_id", "member_id", name="uq_feedback"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- admin pages (issue 6) ------------------------------------------------------------------


class AdminNonce(Base):
    """A DiscourseConnect sign-in under way: single-use, and useless after `expires_at`."""

    __tablename__ = "admin_nonces"
    __table_args__ = (
        Index("ix_admin_nonces_client", "forum_id", "client_hash"),
        Index("ix_admin_nonces_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A hash, not the nonce: a copy of the database cannot finish someone's sign-in.
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    # Who started it, as a keyed hash of their address (never the address): counted to bound
    # the sign-ins one client may leave open, and gone with the row.
    client_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminSession(Base):
    """A signed-in admin; the cookie carries only a random token whose hash is stored here."""

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(Integer)  # the forum's stable id: who this is
    username: Mapped[str] = mapped_column(String(255))  # for display only
    is_forum_admin: Mapped[bool] = mapped_column(default=False)  # connection settings too
    is_forum_staff: Mapped[bool] = mapped_column(default=False)  # admin or moderator: all programs
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminLinkUse(Base):
    """A single-use sign-in link (Zulip `!admin`) that has been used."""

    __tablename__ = "admin_link_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]  # after this the link's signature refuses it anyway


class ProposalDraft(Base):
    """Proposed pairings an admin has not accepted yet (one current draft per program)."""

    __tablename__ = "proposal_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(255))  # username, for display
    created_by_id: Mapped[int | None] = mapped_column(Integer)  # forum user id (erasure)
    max_tz_gap_hours: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProposalItem(Base):
    """One proposed pair in a draft; it goes when either sign-up goes."""

    __tablename__ = "proposal_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(
        ForeignKey("proposal_drafts.id", ondelete="CASCADE"), index=True
    )
    mentor_signup_id: Mapped[int] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    mentee_signup_id: Mapped[int] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    score: Mapped[float]
    reasons: Mapped[str] = mapped_column(Text)  # JSON list of the engine's reason texts
    state: Mapped[ProposalState] = mapped_column(
        column(ProposalState, 16), default=ProposalState.PROPOSED
    )
    note: Mapped[str | None] = mapped_column(String(300))  # why accepting it was refused

    mentor_signup: Mapped[Signup] = relationship(foreign_keys=[mentor_signup_id])
    mentee_signup: Mapped[Signup] = relationship(foreign_keys=[mentee_signup_id])
