"""A self-service program's requests: a mentee asks a mentor, who accepts or declines.

Declared on storage's Base beside the other tables; plugin/forums/tables.py imports this
module, so the complete metadata (migrations) always has it. What the mentee wrote to the
mentor is not stored: it travels in the outbox row that tells the mentor, whose body goes
once sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from plugin.storage.models import Base, Program, Signup, utcnow
from plugin.storage.states import RequestState, column

# One open request per mentee: the database holds it, so two tabs cannot open two.
OPEN_REQUEST = "state = 'open'"


class MentorRequest(Base):
    """A mentee's request to one mentor, open until answered or 7 days have passed."""

    __tablename__ = "mentor_requests"
    __table_args__ = (
        Index(
            "uq_mentor_requests_open_mentee",
            "mentee_id",
            unique=True,
            sqlite_where=text(OPEN_REQUEST),
            postgresql_where=text(OPEN_REQUEST),
        ),
        Index("ix_mentor_requests_mentor", "mentor_id", "state"),
        Index(
            "ix_mentor_requests_open_expiry",
            "expires_at",
            sqlite_where=text(OPEN_REQUEST),
            postgresql_where=text(OPEN_REQUEST),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    state: Mapped[RequestState] = mapped_column(column(RequestState, 16), default=RequestState.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # logical clock
    expires_at: Mapped[datetime]  # created_at + 7 days
    answered_at: Mapped[datetime | None]

    program: Mapped[Program] = relationship()
    mentee: Mapped[Signup] = relationship(foreign_keys=[mentee_id])
    mentor: Mapped[Signup] = relationship(foreign_keys=[mentor_id])


def close_open_requests(session: Session, mentee_id: int, mentor_id: int, now: datetime) -> None:
    """A mentee was paired: their open request to `mentor_id` is accepted, any other declined."""
    for req in session.execute(
        select(MentorRequest).where(
            MentorRequest.mentee_id == mentee_id, MentorRequest.state == RequestState.OPEN
        )
    ).scalars():
        req.answered_at = now
        req.state = RequestState.ACCEPTED if req.mentor_id == mentor_id else RequestState.DECLINED
