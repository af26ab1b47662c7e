"""Climate alerts imported from CAP 1.2 messages (SENAMHI-style warnings)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow

CURRENT, SUPERSEDED, CANCELLED = "current", "superseded", "cancelled"
# Review before push (`review`): NO_REVIEW alerts were pushed on import.
NO_REVIEW, PENDING, APPROVED, HELD = "none", "pending", "approved", "held"


class Alert(Base):
    """One CAP <alert>, unique by (sender, identifier).

    Lifecycle (`state`; expiry is read from each info's `ends_at`, not stored)::

        current ──(an Update references it)──▶ superseded
           └─────(a Cancel references it)────▶ cancelled

    Only current, Actual alerts of msgType Alert or Update are ever shown, and
    only while `now` is before the info's `ends_at`.

    Review (`review`, bot/knowledge/review.py): an alert from a manual feed, or an
    Alert whose areas map to none of our regions, waits for a coordinator::

        none  (pushed on import)
        pending ──(approve: pushes queued now)──▶ approved
           └──(hold)──▶ held ──(approve)──▶ approved

    A pending alert is answered marked "not yet confirmed"; a held one is not
    answered; neither is ever pushed.
    """

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("sender", "identifier", name="uq_alerts_sender_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(200))
    sent: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))  # CAP: Actual, Exercise, System, Test, Draft
    msg_type: Mapped[str] = mapped_column(String(10))  # CAP: Alert, Update, Cancel, Ack, Error
    scope: Mapped[str] = mapped_column(String(10), default="Public")
    refs: Mapped[list] = mapped_column(default=list)  # [[sender, identifier, sent], ...]
    state: Mapped[str] = mapped_column(String(10), default=CURRENT, index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    source_file: Mapped[str] = mapped_column(String(200))
    review: Mapped[str] = mapped_column(String(10), default=NO_REVIEW, index=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("alert_feeds.id", ondelete="SET NULL"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    infos: Mapped[list["AlertInfo"]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertInfo.id")


class AlertInfo(Base):
    """One CAP <info> block: the warning in one language, with its validity and areas."""

    __tablename__ = "alert_infos"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(10), default="es")
    event: Mapped[str] = mapped_column(String(200))
    urgency: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str] = mapped_column(String(12))
    certainty: Mapped[str] = mapped_column(String(12))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    headline: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    instruction: Mapped[str | None] = mapped_column(Text)
    web: Mapped[str | None] = mapped_column(String(300))
    effective: Mapped[datetime | None]
    onset: Mapped[datetime | None]
    expires: Mapped[datetime | None]
    ends_at: Mapped[datetime] = mapped_column(index=True)  # expires, or sent + 24 h without one
    parameters: Mapped[dict] = mapped_column(default=dict)  # valueName -> value
    level: Mapped[str | None] = mapped_column(String(10))  # amarillo, naranja, rojo
    hazards: Mapped[list] = mapped_column(default=list)  # our hazard values: ["helada"]

    alert: Mapped[Alert] = relationship(back_populates="infos")
    areas: Mapped[list["AlertArea"]] = relationship(
        back_populates="info", cascade="all, delete-orphan", order_by="AlertArea.id")


class AlertArea(Base):
    """One CAP <area>: its description, geocodes, polygons and the regions it maps to."""

    __tablename__ = "alert_areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    info_id: Mapped[int] = mapped_column(ForeignKey("alert_infos.id", ondelete="CASCADE"), index=True)
    area_desc: Mapped[str] = mapped_column(Text)
    geocodes: Mapped[list] = mapped_column(default=list)  # [[valueName, value], ...]
    polygons: Mapped[list] = mapped_column(default=list)  # ["lat,lon lat,lon ...", ...]
    circles: Mapped[list] = mapped_column(default=list)  # CAP <circle>: ["lat,lon radius_km", ...]
    regions: Mapped[list] = mapped_column(default=list)  # our region keys: ["puno", "cusco"]

    info: Mapped[AlertInfo] = relationship(back_populates="areas")
