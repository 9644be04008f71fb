"""Database models (SQLAlchemy 2.0 declarative).

What is stored is deliberately small: who did what and when, never what pair members write
to each other (INTERFACE.md, "Member-facing behaviour").
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from plugin.db import UTCDateTime

# Rows that are due at any logical time (see plugin.clock): the epoch, never NULL, so one
# index on (state, run_at) serves every claim.
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
    kind: Mapped[str] = mapped_column(String(16))  # "discourse" | "zulip"
    url: Mapped[str] = mapped_column(String(500))
    api_key: Mapped[str] = mapped_column(String(500))
    bot_user: Mapped[str] = mapped_column(String(255))  # Discourse username / Zulip bot email
    webhook_secret: Mapped[str] = mapped_column(String(500))  # Discourse secret / Zulip token
    connect_secret: Mapped[str | None] = mapped_column(String(500))
    request_budget: Mapped[int] = mapped_column(Integer)  # forum calls per rolling minute
    paused_until: Mapped[datetime | None]  # a 429's Retry-After, on the logical clock
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class _QueueRow:
    """Columns shared by the inbox and the outbox: a leased, retried unit of work."""

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # Rows with the same ordering key are worked strictly in id order (one thread, one member).
    ordering_key: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_at: Mapped[datetime] = mapped_column(default=EPOCH)  # logical clock
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]  # real clock: it guards against dead processes
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxEvent(_QueueRow, Base):
    """A webhook event, stored (minimised) before it was acknowledged."""

    __tablename__ = "inbox_events"
    __table_args__ = (
        UniqueConstraint("forum_id", "delivery_id", name="uq_inbox_delivery"),
        UniqueConstraint("forum_id", "content_key", name="uq_inbox_content"),
        Index("ix_inbox_due", "state", "run_at"),
        Index("ix_inbox_ordering", "ordering_key", "id"),
    )

    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    content_key: Mapped[str] = mapped_column(String(200))
    # Only the fields the service uses; cleared once the event is processed.
    payload: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]


class OutboxMessage(_QueueRow, Base):
    """A call to a forum, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_due", "state", "run_at"),
        Index("ix_outbox_ordering", "ordering_key", "id"),
    )

    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), unique=True)  # idempotency key
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
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
