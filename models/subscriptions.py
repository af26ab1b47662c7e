"""Subscriptions: what a consenting contact asked to receive (weekly prices, alerts, tips)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Subscription(Base):
    """A contact's wish to receive one kind of proactive message; recorded only with consent.

    `product` is set for kind "prices"; `hazard` for kind "alerts" ("" = every
    hazard); kind "calendar" is the monthly agroecological tip; `region` is a
    region key. Sending: bot/proactive/alert_pushes.py and bot/proactive/digests.py::

        active ──(contact cancels)──▶ cancelled ──(subscribes again)──▶ active

    A contact who sent STOP gets nothing whatever their subscriptions say.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("contact_id", "kind", "product", "hazard", "region",
                                       name="uq_subscriptions_what"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "prices", "alerts" or "calendar"
    product: Mapped[str] = mapped_column(String(80), default="")
    hazard: Mapped[str] = mapped_column(String(20), default="")
    region: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
