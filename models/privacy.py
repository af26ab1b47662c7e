"""Privacy: keyed hashes of erased numbers that had said STOP (the suppression list)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class SuppressedNumber(Base):
    """A number that said STOP and was then erased, kept only as an HMAC of the number.

    Rows are added by an erasure (bot/privacy/erasure.py) and removed only when the
    same number later sends ALTA/START (an explicit opt-in)::

        (erased while opted out) ──▶ suppressed ──(ALTA from that number)──▶ (row deleted)

    The digest cannot be turned back into the number without the key
    (settings.suppression_key); it lets STOP keep holding after erasure.
    """

    __tablename__ = "suppressed_numbers"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
