"""Hand-off requests: people who asked to talk to a person."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class HandoffRequest(Base):
    """A request for a person, worked by staff.

    ::

        open ──(staff takes it)──▶ taken ──(staff closes)──▶ closed
          │                          │                         ▲  ▲
          │                          └──(staff replies)──┐     │  │
          ├──(staff replies)──────────────────────────▶ answered ─┘  (staff closes)
          │                                              │  ▲
          │                                              └──┘ (another reply)
          └──(staff closes)────────────────────────────────────▶ closed

    `media` holds Twilio media references ([{"url", "content_type"}], never the bytes) of a
    photo or voice note she sent before asking for a person (topic "technician"); the
    console fetches them from Twilio while a member of staff looks (bot/console/handoffs.py).
    Media of a support conversation is never kept here.

    A reply is an outbox row keyed "handoff:<id>:reply:<n>" (bot/conversations/handoffs.py).
    """

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    topic: Mapped[str | None] = mapped_column(String(40))
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    media: Mapped[list] = mapped_column(default=list)
