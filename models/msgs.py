"""Messages: every inbound and outbound message, with what the NLU made of it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.contacts import Contact

REDACTED = "[redactado]"

# Twilio reports statuses out of order; a later callback never moves a message back.
STATUS_RANK = {
    "received": 0, "replied": 1, "queued": 1, "accepted": 1, "scheduled": 1,
    "sending": 2, "sent": 3, "canceled": 4, "failed": 4, "undelivered": 4,
    "delivered": 5, "read": 6,
}


class Message(Base):
    """One SMS or WhatsApp message, in or out.

    Inbound:  received
    Outbound (TwiML reply or REST)::

        replied/queued ──▶ sending ──▶ sent ──▶ delivered ──▶ read (WhatsApp)
                │              │          └──▶ undelivered
                └──────────────┴──▶ failed / canceled

    Bodies of conversations about violence are never stored: `body` is None and
    `redacted` is true.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_contact_created", "contact_id", "created_at"),
        # The staff console filters the newest messages by these (migration 0004).
        Index("ix_messages_intent_created", "intent", "created_at"),
        Index("ix_messages_channel_created", "channel", "created_at"),
        Index("ix_messages_flow_created", "flow", "created_at"),
        Index("ix_messages_direction_confidence", "direction", "confidence"),
        Index("ix_messages_direction_created", "direction", "created_at"),
        Index("ix_messages_redacted_contact", "redacted", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(  # None: the contact was erased
        ForeignKey("contacts.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str | None] = mapped_column(Text)
    redacted: Mapped[bool] = mapped_column(default=False)
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None]
    num_media: Mapped[int] = mapped_column(default=0)
    segments: Mapped[int | None]
    truncated: Mapped[bool] = mapped_column(default=False)
    intent: Mapped[str | None] = mapped_column(String(40))
    confidence: Mapped[float | None]
    entities: Mapped[dict] = mapped_column(default=dict)
    nlu_source: Mapped[str | None] = mapped_column(String(20))
    flow: Mapped[str | None] = mapped_column(String(40))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship()

    def advance_status(self, status: str, error_code: int | None = None) -> bool:
        """Move to `status` unless it would go backwards; return whether it moved."""
        if STATUS_RANK.get(status, -1) < STATUS_RANK.get(self.status, -1):
            return False
        self.status = status
        if error_code is not None:
            self.error_code = error_code
        return True
