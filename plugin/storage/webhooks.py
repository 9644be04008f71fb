"""The outgoing webhooks' tables: hooks and their deliveries (plugin/engine/hooks.py).

Declared on storage's Base beside the other tables; plugin/forums/tables.py imports this
module, so the complete metadata (migrations, secret rotation) always has them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.storage.indexes import finished_index, open_index
from plugin.storage.models import Base, QueueRow, utcnow
from plugin.storage.secretbox import EncryptedText


class WebHook(Base):
    """An outgoing webhook (Standard Webhooks 1.0) that receives the service's own events."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))  # held to the forum URL rule (netguard)
    events: Mapped[str] = mapped_column(Text)  # JSON list of event types it wants
    secret: Mapped[str] = mapped_column(EncryptedText())  # "whsec_<base64>", shown once
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebHookDelivery(QueueRow, Base):
    """One event for one hook, written in the transaction of the change that causes it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_ordering", "ordering_key", "id"),
        Index("ix_webhook_deliveries_hook", "hook_id", "id"),
        open_index("ix_webhook_deliveries_open", "id"),
        open_index("ix_webhook_deliveries_open_ordering", "ordering_key", "id"),
        finished_index("ix_webhook_deliveries_sent", "sent_at", "sent"),  # the retention purge
    )

    hook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(40))  # webhook-id, kept across retries
    event_type: Mapped[str] = mapped_column(String(40))
    # The JSON body, sent byte for byte on every attempt; emptied once sent or given up, so
    # no username outlives its delivery.
    body: Mapped[str | None] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)  # the last answer's status
    sent_at: Mapped[datetime | None]
