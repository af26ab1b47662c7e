"""Demo data for `make run`: fake contacts, a SAMPLE price bulletin, SAMPLE alerts, sample surveys.

The demo goes only into the demo database: an empty one, which `load_demo` marks
as the demo (models.marks), or one already marked. Any other database (a
contact the demo did not create, a console user, a price or an alert it did
not load) is refused before anything is written: a real subscriber must never
receive a sample frost warning, nor fake contacts join real broadcasts.

Numbers are in +51 900 000 0XX, a range this project uses only for fake
contacts. Prices and alerts come from bot/knowledge/demo_data/SAMPLE_*: invented data
whose source reads "MUESTRA / sample data" in every reply. The samples are
written for SAMPLE_DAY and moved to the day they are loaded; loading on a later
day replaces the earlier day's sample prices and alerts instead of adding new
ones beside them, and loading twice on the same day changes nothing. The sample
alerts carry CAP status Exercise: they are never pushed, and only demo contacts
are answered with them.
"""
from __future__ import annotations

import re
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.clock import lima_date
from bot.knowledge.alerts import import_alerts, read_alerts
from bot.knowledge.prices import import_prices, parse_date
from bot.surveys.service import SURVEYS_DIR, load as load_survey
from models import Alert, Contact, PriceReport, User, utcnow
from models.marks import DEMO, DatabaseMark, is_demo

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
SAMPLE_PRICES = DEMO_DIR / "SAMPLE_precios_muestra.csv"
SAMPLE_ALERTS = DEMO_DIR / "SAMPLE_alertas_muestra.xml"
SAMPLE_DAY = date(2026, 11, 22)  # the day the sample files are written for
SAMPLE_SOURCE = "MUESTRA / sample data"  # the `# fuente:` of the sample bulletin
SAMPLE_SENDER = "muestra@chaski.invalid"  # the <sender> of every sample alert
SAMPLE_SURVEYS = {"survey": "cosecha-2026.yml", "survey_siembra": "siembra-2026.yml"}  # drafts

DEMO_CONTACTS = [
    # phone (FAKE), language, region, province
    ("+51900000011", "es", "junin", "huancayo"),
    ("+51900000012", "qu", "cusco", "canchis"),
    ("+51900000013", "ay", "puno", "el collao"),
    ("+51900000014", "es", "piura", "morropon"),
]


class NotADemoDatabase(Exception):
    """The database holds data the demo did not create: nothing was written."""

    def __init__(self, found: list[str]):
        self.found = found
        super().__init__(
            "load-demo: esta base de datos no es la de demostración / this is not the demo "
            f"database: {'; '.join(found)}. Nada se escribió / nothing was written. La demo va "
            "solo a la base embebida (make run sin DATABASE_URL) o a una base vacía "
            "(make run DEMO=1) / the demo goes only into the embedded database or an empty one.")


def not_demo_data(session: Session) -> list[str]:
    """Return what this database holds that the demo did not create (empty for a demo database)."""
    if is_demo(session):
        return []
    demo_phones = [phone for phone, *_ in DEMO_CONTACTS]
    counts = {
        "contacto(s) / contact(s)": select(func.count()).select_from(Contact)
        .where(Contact.phone.not_in(demo_phones)),
        "usuario(s) de la consola / console user(s)": select(func.count()).select_from(User),
        "precio(s) / price(s)": select(func.count()).select_from(PriceReport)
        .where(PriceReport.source != SAMPLE_SOURCE),
        "aviso(s) / alert(s)": select(func.count()).select_from(Alert)
        .where(Alert.sender != SAMPLE_SENDER),
    }
    found = [(session.scalar(query), what) for what, query in counts.items()]
    return [f"{n} {what}" for n, what in found if n]


def load_demo(session: Session, now: datetime | None = None) -> dict:
    """Load what is missing of the demo into the demo database; return counts.

    Raises NotADemoDatabase, having written nothing, on any other database.
    """
    now = now or utcnow()
    found = not_demo_data(session)
    if found:
        raise NotADemoDatabase(found)
    today = lima_date(now)
    counts = {"marked_demo": _mark(session, today, now)}
    counts.update(_contacts(session, now))
    counts.update(_prices(session, today))
    counts.update(_alerts(session, today, now))
    for count, name in SAMPLE_SURVEYS.items():  # drafts: only `survey send` sends them
        counts[count] = load_survey(session, SURVEYS_DIR / name, now, dated=today)[1]
    return counts


def moved_to(moment: datetime, today: date) -> datetime:
    """Return a sample moment moved from SAMPLE_DAY to `today`."""
    return moment + timedelta(days=(today - SAMPLE_DAY).days)


def alerts_for_today(xml: str, today: date) -> str:
    """Return the sample alerts with every date moved by (today - SAMPLE_DAY), identifiers kept."""
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",
                  lambda m: moved_to(datetime.fromisoformat(m.group(0)), today).isoformat(), xml)


def prices_for_today(csv_text: str, today: date) -> str:
    """Return the sample bulletin with each row's date moved by (today - SAMPLE_DAY)."""
    shift = timedelta(days=(today - SAMPLE_DAY).days)
    lines = csv_text.splitlines(keepends=True)
    for i, day in _row_dates(lines):
        lines[i] = (day + shift).isoformat() + "," + lines[i].partition(",")[2]
    return "".join(lines)


def _row_dates(lines: list[str]) -> list[tuple[int, date]]:
    """Return (index, date) of the bulletin lines that start with a date."""
    first = [line.partition(",")[0].strip() for line in lines]
    return [(i, parse_date(text)) for i, text in enumerate(first)
            if re.fullmatch(r"\d{4}-\d\d-\d\d|\d\d?/\d\d?/\d{4}", text)]


def _mark(session: Session, today: date, now: datetime) -> bool:
    if session.get(DatabaseMark, DEMO) is not None:
        return False
    session.add(DatabaseMark(name=DEMO, value=f"load-demo {today.isoformat()}", created_at=now))
    return True


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


def _prices(session: Session, today: date) -> dict:
    moved_text = prices_for_today(SAMPLE_PRICES.read_text(encoding="utf-8"), today)
    days = {day for _i, day in _row_dates(moved_text.splitlines())}
    replaced = session.execute(delete(PriceReport).where(  # an earlier day's sample rows
        PriceReport.source == SAMPLE_SOURCE, PriceReport.date.not_in(days))).rowcount
    with tempfile.TemporaryDirectory() as tmp:
        moved = Path(tmp) / SAMPLE_PRICES.name
        moved.write_text(moved_text, encoding="utf-8")
        prices = import_prices(session, moved, today=today)
    return {"prices_imported": prices.imported, "prices_unchanged": prices.unchanged,
            "prices_replaced": replaced}


def _alerts(session: Session, today: date, now: datetime) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        moved = Path(tmp) / SAMPLE_ALERTS.name
        moved.write_text(alerts_for_today(SAMPLE_ALERTS.read_text(encoding="utf-8"), today),
                         encoding="utf-8")
        replaced = 0
        for data in read_alerts(moved):
            stored = session.scalar(select(Alert).where(Alert.sender == data["sender"],
                                                        Alert.identifier == data["identifier"]))
            if stored is not None and stored.sent != data["sent"]:
                session.delete(stored)  # yesterday's copy: the moved one replaces it
                replaced += 1
        session.flush()
        alerts = import_alerts(session, moved, now)
    return {"alerts_imported": alerts.imported, "alerts_unchanged": alerts.unchanged,
            "alerts_replaced": replaced, "alert_pushes_queued": alerts.pushes}
