"""The outbox: one row per proactive message, written with whatever created it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

# Twilio's callback statuses that mean "accepted, still on its way": we already say "sent".
IN_FLIGHT = {"queued", "accepted", "scheduled", "sending", "sent"}
PRIVATE_REPLY_TOPIC = "handoff_private"  # a staff reply about violence: body blanked when final
STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "undelivered": 3, "failed": 3,
               "canceled": 3, "delivered": 4, "read": 5}


class OutboxMessage(Base):
    """One proactive message to one contact, from its creation to Twilio's last word.

    ::

        queued ──(sender claims; committed BEFORE Twilio is called)──▶ sending
          ▲  │                                                           │
          │  └──(opted out / expired / broadcast canceled)──▶ canceled   │
          │                                                              │
          ├──(429, 5xx, refused connection: attempts left, backoff)──────┤
          │                                                              │
          └──(lease expired and Twilio has no such message)──────────────┤
                                                                         │
        sending ──(Twilio accepted, or the lookup found it)──▶ sent ──▶ delivered ──▶ read
           │                                                    └──▶ undelivered / failed
           └──(permanent error: 21610, 21211, attempts used up...)──▶ failed

    `key` makes creation idempotent ("broadcast:7:20261123T1300Z:contact:42", or
    "broadcast:7:once:contact:42" for a one-off):
    re-running whatever creates rows adds nothing twice. A row stuck in `sending`
    (sender killed, or a timeout whose outcome is unknown) is only resent after its
    lease ran out and Twilio's message list shows no message to that address since
    the claim: see bot/outbound/sender.py. A staff reply in a conversation about violence
    (topic "handoff_private", bot/conversations/handoffs.py) has its `body` blanked once
    the row is final (sent, failed, canceled).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    source: Mapped[str] = mapped_column(String(40))  # "broadcast", "reminder", "survey"...
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(  # None: the contact was erased
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    content_sid: Mapped[str | None] = mapped_column(String(64))  # approved WhatsApp template
    content_variables: Mapped[dict | None]
    topic: Mapped[str | None] = mapped_column(String(40))
    urgent: Mapped[bool] = mapped_column(default=False)  # red climate alert: ignores quiet hours
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    not_after: Mapped[datetime | None]  # never sent after this (an alert that expired)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    sent_as: Mapped[str | None] = mapped_column(String(10))  # "body" or "template"
    segments: Mapped[int | None]
    error_code: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def private(self) -> bool:
        """Tell whether this is a staff reply in a conversation about violence (never kept)."""
        return self.topic == PRIVATE_REPLY_TOPIC

    def advance_status(self, status: str, error_code: int | None = None) -> bool:
        """Apply a Twilio status callback unless it would move the row backwards."""
        if status in IN_FLIGHT:
            status = "sent"
        if status not in STATUS_RANK or STATUS_RANK[status] < STATUS_RANK.get(self.status, 0):
            return False
        if status == self.status and error_code is None:
            return False
        self.status = status
        if error_code is not None:
            self.error_code = error_code
        return True

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.key} {self.status}>"
