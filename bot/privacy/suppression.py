"""The suppression list: keyed hashes of erased numbers that had said STOP.

The number itself is never kept. HMAC-SHA256 with settings.suppression_key (or
SECRET_KEY) makes the list useless to anyone without the key, while the same
number always gives the same digest, so a later message from her is recognised.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models.privacy import SuppressedNumber


def suppression_key(settings) -> str:
    """Return the HMAC key of the suppression list from the settings."""
    key = settings.suppression_key or settings.secret_key
    if not key:
        raise RuntimeError("no SUPPRESSION_KEY or SECRET_KEY: the suppression list needs a key")
    return key


def digest(phone: str, key: str) -> str:
    """Return the keyed hash of an E.164 number (64 hex characters)."""
    return hmac.new(key.encode(), phone.encode(), hashlib.sha256).hexdigest()


def suppress(session: Session, phone: str, key: str, now: datetime) -> None:
    """Add the number to the suppression list (once)."""
    value = digest(phone, key)
    if session.get(SuppressedNumber, value) is None:
        session.add(SuppressedNumber(digest=value, created_at=now))


def is_suppressed(session: Session, phone: str, key: str) -> bool:
    """Tell whether the number was erased after saying STOP."""
    return session.scalar(select(SuppressedNumber.digest)
                          .where(SuppressedNumber.digest == digest(phone, key))) is not None


def lift(session: Session, phone: str, key: str) -> None:
    """Remove the number from the list: she sent ALTA/START herself."""
    session.execute(delete(SuppressedNumber).where(SuppressedNumber.digest == digest(phone, key)))
