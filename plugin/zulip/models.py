"""Zulip's own table, on storage's declarative Base (plugin/forums/tables.py collects it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.storage.models import Base


class ZulipQueue(Base):
    """The event queue polled for one Zulip forum (plugin/zulip/poller.py), leased to one poller."""

    __tablename__ = "zulip_queues"
    __table_args__ = (UniqueConstraint("forum_id", name="uq_zulip_queue_forum"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forums.id", ondelete="CASCADE"))
    queue_id: Mapped[str | None] = mapped_column(String(100))  # None: register one
    last_event_id: Mapped[int] = mapped_column(Integer, default=-1)  # read and stored
    registered_at: Mapped[datetime | None]  # real clock
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]  # real clock: it guards against dead pollers
