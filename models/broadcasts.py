"""Broadcasts: one message to a segment of contacts, once or on a cron schedule."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TextsByLanguage, utcnow


class Broadcast(TextsByLanguage, Base):
    """A message for a segment, text per language, sent through the outbox.

    ::

        draft ──(send)──▶ scheduled ──(due: outbox rows built in one transaction)──▶ done
          │                 │   ▲                                                   (one-off)
          │                 │   └──(recurring: next_run_at moves to the next cron time)
          └──(cancel)───────┴──(cancel: its queued outbox rows are canceled too)──▶ canceled

    `segment` keys (all optional, all must match): region, province, language
    (lists of values), channel ("sms" or "whatsapp": contacts who used it),
    active_days (an inbound message in the last N days), crop (an active prices
    subscription for the product or it in profile["crops"]), subscription (an
    active subscription of that kind: prices, alerts, calendar). Contacts who opted out
    or never consented are never in an audience.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    texts: Mapped[dict] = mapped_column(default=dict)  # {"es": "...", "qu": "..."}
    segment: Mapped[dict] = mapped_column(default=dict)
    channel: Mapped[str | None] = mapped_column(String(10))  # None: WhatsApp if used, else SMS
    content_sid: Mapped[str | None] = mapped_column(String(64))  # template outside 24 h
    content_variables: Mapped[dict | None]
    topic: Mapped[str | None] = mapped_column(String(40))
    urgent: Mapped[bool] = mapped_column(default=False)  # red climate alert: no quiet hours
    send_at: Mapped[datetime | None]
    cron: Mapped[str | None] = mapped_column(String(60))  # crontab, America/Lima
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    runs: Mapped[int] = mapped_column(default=0)
    last_run_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    canceled_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Broadcast {self.id} {self.name!r} {self.status}>"
