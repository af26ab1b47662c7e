"""Reminders relative to a date the contact gave (e.g. 30 days after sowing)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TextsByLanguage, utcnow


class Reminder(TextsByLanguage, Base):
    """A message sent `days` after each contact's date `date_field`, once per contact and date.

    ::

        active ──(pause)──▶ paused ──(resume)──▶ active
          │                   │
          └──(cancel)─────────┴──(cancel: its queued outbox rows are canceled too)──▶ canceled

    The contact's dates live in `contact.profile["dates"][date_field]` ("YYYY-MM-DD").
    `segment` takes the broadcast segment keys (region, language, crop...). Only
    active reminders are queued, by the daily job in bot/proactive/reminders.py.
    """

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    date_field: Mapped[str] = mapped_column(String(40))  # "siembra"
    days: Mapped[int] = mapped_column(default=0)  # after the date (negative: before it)
    texts: Mapped[dict] = mapped_column(default=dict)  # {"es": "...", "qu": "..."}
    segment: Mapped[dict] = mapped_column(default=dict)
    topic: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    canceled_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Reminder {self.id} {self.name!r} {self.status}>"
