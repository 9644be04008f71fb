"""What the forum's own record says a mentor knows, and when we last read it.

One row per member (the forum account, whatever the program), declared on storage's Base;
plugin/forums/tables.py imports this module so the complete metadata has it. Only what the
directory shows and matching scores is kept: the busiest categories with post counts, the
likes and accepted answers, as one small JSON text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.storage.models import Base


class MemberExpertise(Base):
    """A member's forum expertise (`record`, null when the forum keeps none) and its refresh."""

    __tablename__ = "member_expertise"
    __table_args__ = (Index("ix_member_expertise_due", "due_at"),)

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    # JSON: {"categories": [[name, posts], ...], "likes": n, "accepted": n | null}.
    record: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime | None]  # when `record` was read; null if never read
    # When to read it again: a week after a read, sooner after a failed call.
    due_at: Mapped[datetime]
