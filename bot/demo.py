"""Demo data for `make run`: clearly fake contacts, loaded idempotently.

Numbers are in +51 900 000 0XX, a range this project uses only for fake
contacts. Topic data (prices, alerts) is added to the demo by its own issue.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Contact, utcnow

DEMO_CONTACTS = [
    # phone (FAKE), language, region, province
    ("+51900000011", "es", "junin", "huancayo"),
    ("+51900000012", "qu", "cusco", "canchis"),
    ("+51900000013", "ay", "puno", "el collao"),
    ("+51900000014", "es", "piura", "morropon"),
]


def load_demo(session: Session) -> dict:
    """Create the demo contacts that do not exist yet; return counts."""
    existing = set(session.scalars(select(Contact.phone).where(
        Contact.phone.in_([row[0] for row in DEMO_CONTACTS]))))
    now = utcnow()
    created = 0
    for phone, language, region, province in DEMO_CONTACTS:
        if phone in existing:
            continue
        session.add(Contact(phone=phone, language=language, region=region, province=province,
                            channels=["sms"], consent_at=now, profile={"demo": True}, created_at=now))
        created += 1
    return {"contacts_created": created, "contacts_existing": len(existing)}
