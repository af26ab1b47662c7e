"""Reviews: a staff member's verdict on what the NLU made of one inbound message."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Review(Base):
    """The confirmed or corrected intent and entities of one inbound message.

    Status::

        pending (no row) ──(reviewer confirms)──▶ confirmed ──┐
                 └───────(reviewer corrects)──▶ corrected ───┴──(export-training)──▶ exported_at set
        confirmed/corrected ──(reviewed again)──▶ the same row, new verdict, exported_at cleared

    One row per message (the latest verdict wins). `text` keeps the body as it
    was reviewed, so an export never needs the message table's restricted rows.
    """

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10))  # confirmed | corrected
    text: Mapped[str] = mapped_column(String(1600))
    old_intent: Mapped[str | None] = mapped_column(String(40))
    intent: Mapped[str] = mapped_column(String(40))
    entities: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    exported_at: Mapped[datetime | None]
