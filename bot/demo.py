"""Demo data for `make run`: fake contacts, a SAMPLE price bulletin and SAMPLE alerts.

Numbers are in +51 900 000 0XX, a range this project uses only for fake
contacts. Prices and alerts come from bot/demo_data/SAMPLE_*: invented data
whose source reads "MUESTRA / sample data" in every reply. The sample alerts
are moved to today's date (and given a dated identifier) so the demo always
has a valid warning; loading twice on the same day changes nothing.
"""
from __future__ import annotations

import re
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.records import lima_date
from models import Contact, utcnow

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
SAMPLE_PRICES = DEMO_DIR / "SAMPLE_precios_muestra.csv"
SAMPLE_ALERTS = DEMO_DIR / "SAMPLE_alertas_muestra.xml"
SAMPLE_ALERTS_DAY = date(2026, 11, 22)  # the day the sample alerts are written for

DEMO_CONTACTS = [
    # phone (FAKE), language, region, province
    ("+51900000011", "es", "junin", "huancayo"),
    ("+51900000012", "qu", "cusco", "canchis"),
    ("+51900000013", "ay", "puno", "el collao"),
    ("+51900000014", "es", "piura", "morropon"),
]


def load_demo(session: Session, now: datetime | None = None) -> dict:
    """Create the demo contacts, sample prices and sample alerts not loaded yet; return counts."""
    from bot.knowledge.alerts import import_alerts
    from bot.knowledge.prices import import_prices

    now = now or utcnow()
    counts = _contacts(session, now)
    prices = import_prices(session, SAMPLE_PRICES, today=lima_date(now))
    counts.update(prices_imported=prices.imported, prices_unchanged=prices.unchanged)
    with tempfile.TemporaryDirectory() as tmp:
        moved = Path(tmp) / SAMPLE_ALERTS.name
        moved.write_text(alerts_for_today(SAMPLE_ALERTS.read_text(encoding="utf-8"), lima_date(now)),
                         encoding="utf-8")
        alerts = import_alerts(session, moved, now)
    counts.update(alerts_imported=alerts.imported, alerts_unchanged=alerts.unchanged,
                  alert_pushes_queued=alerts.pushes)
    from bot.surveys.service import SURVEYS_DIR, load

    counts["survey"] = load(session, SURVEYS_DIR / "cosecha-2026.yml", now)[1]  # a draft, not sent
    counts["survey_siembra"] = load(session, SURVEYS_DIR / "siembra-2026.yml", now)[1]  # a draft too
    return counts


def alerts_for_today(xml: str, today: date) -> str:
    """Return the sample alerts with every date moved by (today - the day they were written for)."""
    shift = timedelta(days=(today - SAMPLE_ALERTS_DAY).days)
    if not shift:
        return xml

    def move(match: re.Match) -> str:
        moment = datetime.fromisoformat(match.group(0)) + shift
        return moment.isoformat()

    xml = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", move, xml)
    return re.sub(r"<identifier>([^<]+)</identifier>",
                  lambda m: f"<identifier>{m.group(1)}-{today.isoformat()}</identifier>", xml)


def _contacts(session: Session, now: datetime) -> dict:
    existing = set(session.scalars(select(Contact.phone).where(
        Contact.phone.in_([row[0] for row in DEMO_CONTACTS]))))
    created = 0
    for phone, language, region, province in DEMO_CONTACTS:
        if phone in existing:
            continue
        session.add(Contact(phone=phone, language=language, region=region, province=province,
                            channels=["sms"], consent_at=now, profile={"demo": True}, created_at=now))
        created += 1
    return {"contacts_created": created, "contacts_existing": len(existing)}
