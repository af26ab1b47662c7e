"""Shared helpers for the outbox tests: an app wired to the fake Twilio API, contacts, times."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from bot.services import services
from models import Contact, OutboxMessage
from tests.conftest import _empty_tables, make_app

NOON = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)     # 12:00 in Lima
NIGHT = datetime(2026, 11, 24, 3, 30, tzinfo=timezone.utc)    # 22:30 in Lima
SMS_FROM, WA_FROM = "+51900000000", "whatsapp:+51900000000"   # FAKE sender numbers


def outbox_app(database_url: str, fake, **overrides):
    """Return an app on an emptied database that sends to `fake`, without rate limits."""
    settings = {"TWILIO_API_BASE_URL": fake.base_url, "TWILIO_SMS_FROM": SMS_FROM,
                "TWILIO_WHATSAPP_FROM": WA_FROM, "OUTBOX_RATE_SMS": 0, "OUTBOX_RATE_WHATSAPP": 0,
                "OUTBOX_BACKOFF_SECONDS": 30.0}
    settings.update(overrides)
    app = make_app(database_url, **settings)
    _empty_tables(services(app).db)
    return app


@pytest.fixture
def app(database_url, fake_twilio):
    """Yield an outbox app on an empty database (import this fixture into a test module)."""
    app = outbox_app(database_url, fake_twilio)
    yield app
    services(app).db.dispose()


@pytest.fixture
def db(app):
    return services(app).db


def add_contacts(session, n: int, start: int = 910_000_000, **fields) -> list[Contact]:
    """Add `n` consenting contacts with FAKE numbers +51 910 000 000 upward."""
    now = fields.pop("now", NOON - timedelta(days=30))
    contacts = [Contact(phone=f"+51{start + i}", channels=fields.get("channels", ["sms"]),
                        language=fields.get("language", "es"), region=fields.get("region", "junin"),
                        province=fields.get("province"), consent_at=now, profile={},
                        last_inbound_at=fields.get("last_inbound_at", now),
                        last_whatsapp_inbound_at=fields.get("last_whatsapp_inbound_at"),
                        created_at=now)
                for i in range(n)]
    session.add_all(contacts)
    session.flush()
    return contacts


def give_date(session, contact: Contact, name: str, day) -> None:
    """Store a date the contact gave (e.g. siembra), as a survey answer or staff would."""
    from bot.proactive.reminders import set_contact_date

    set_contact_date(session, contact, name, day)


@contextmanager
def holding_outbox_key(db, key: str, contact_id: int, now: datetime):
    """Hold outbox `key` in an open transaction: whoever inserts that key waits until we let go.

    The crash tests use it to stop a real job in the middle of its INSERT and kill it there.
    """
    conn = db.engine.connect()
    tx = conn.begin()
    try:
        conn.execute(insert(OutboxMessage).values(
            key=key, source="test", contact_id=contact_id, channel="sms", body="x",
            status="canceled", attempts=0, urgent=False, next_attempt_at=now, created_at=now,
            updated_at=now))
        yield
    finally:
        tx.rollback()
        conn.close()
