"""Contacts: the people who text Chaski."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Contact(Base):
    """One person, keyed by an E.164 phone number, across SMS and WhatsApp.

    Messaging state (derived from the two timestamps)::

        new ──(consents)──▶ consented
         │                    │
         └──(STOP)──▶ opted_out ◀──(STOP)──┘
                       │
                       └──(ALTA/START)──▶ consented or new, as before

    `latitude`/`longitude` are kept only with consent, from a location she sent;
    alerts whose CAP polygon or circle holds the point reach her (bot/proactive).

    `opted_out_at` set means: never message this contact except the direct
    reply that explains how to opt back in.
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    channels: Mapped[list] = mapped_column(default=list)
    language: Mapped[str] = mapped_column(String(2), default="es")
    region: Mapped[str | None] = mapped_column(String(40))
    province: Mapped[str | None] = mapped_column(String(60))
    # A WhatsApp location she shared and agreed to keep (flows/location.py), WGS84 degrees.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    located_at: Mapped[datetime | None]
    consent_at: Mapped[datetime | None]
    consent_channel: Mapped[str | None] = mapped_column(String(10))
    consent_version: Mapped[str | None] = mapped_column(String(20))  # flows/texts consent_version
    opted_out_at: Mapped[datetime | None]
    profile: Mapped[dict] = mapped_column(default=dict)
    last_inbound_at: Mapped[datetime | None]
    last_whatsapp_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None

    @property
    def has_consent(self) -> bool:
        return self.consent_at is not None

    @property
    def is_demo(self) -> bool:
        """Tell whether this is a contact of the demo database (sample alerts are answered to her)."""
        return bool((self.profile or {}).get("demo"))

    def channels_with(self, channel: str) -> list[str]:
        """Return her channels with `channel` added at the end if it is new."""
        channels = list(self.channels or [])
        return channels if channel in channels else [*channels, channel]

    def __repr__(self) -> str:
        return f"<Contact {self.id} {self.phone[:-4]}****>"
