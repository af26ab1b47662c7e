"""The weekly price digest and the monthly calendar tip: content, once per period, the real sender."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.proactive.digests import send_calendar_tips, send_price_digest, week_tag
from flows.gsm7 import segment_count, to_gsm7
from bot.knowledge.prices import import_prices
from bot.services import services
from bot.outbound.sender import Sender
from flows.calendar_tips import calendar, tip_for, tip_text
from models import OutboxMessage, Subscription
from tests.fakes.outbox import NOON, add_contacts
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures
from tests.fakes.topics import DATA, ask  # noqa: F401 - fixture

JUNE_FIRST = datetime(2026, 6, 1, 13, 0, tzinfo=timezone.utc)  # 08:00 in Lima


def subscribe(s, contact, kind="prices", product="", region=""):
    s.add(Subscription(contact_id=contact.id, kind=kind, product=product, region=region))


def rows(db):
    with db.session() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.contact_id)).all()


@pytest.fixture
def prices(db):
    with db.session() as s:
        import_prices(s, DATA / "prices_good.csv", today=date(2026, 11, 23))


def test_digest_summarises_fresh_prices_with_date_and_source_once_a_week(app, db, prices):
    with db.session() as s:
        grower, quinua, stale_only, stopped, no_consent, lapsed = add_contacts(s, 6)
        quinua.region = "puno"
        stopped.opted_out_at = NOON
        no_consent.consent_at = None
        subscribe(s, grower, product="papa", region="junin")
        subscribe(s, grower, product="olluco")
        subscribe(s, grower, product="trucha", region="ancash")  # last price 30/10: too old
        subscribe(s, quinua, product="quinua")
        subscribe(s, stale_only, product="trucha")
        subscribe(s, stopped, product="papa")
        subscribe(s, no_consent, product="papa")
        s.add(Subscription(contact_id=lapsed.id, kind="prices", product="papa", status="cancelled"))
        ids = [grower.id, quinua.id]
    with db.session() as s:
        counts = send_price_digest(s, NOON)
    assert counts == {"contacts": 3, "queued": 2, "nothing_fresh": 1, "products_skipped": 2,
                      "already_queued": 0}
    first, second = rows(db)
    assert [first.contact_id, second.contact_id] == ids
    assert first.key == f"digest:2026-W48:contact:{ids[0]}" and first.topic == "prices"
    assert first.not_after == NOON + timedelta(days=2)  # held up longer: prices have moved
    assert first.body.startswith("Precios de la semana:\nPapa amarilla Huancayo 20/11: "
                                 "2.20-2.64-3.00 S/ kg, sube 10%")
    assert "Olluco Huancayo 20/11: 18.50 S/ arroba" in first.body
    assert "Trucha" not in first.body and "Fuente: PRUEBA / test data." in first.body
    assert "Quinua blanca Juliaca 20/11: 300.00-320.00-350.00 S/ saco" in second.body
    assert all(segment_count(to_gsm7(r.body)) <= 2 for r in (first, second))
    with db.session() as s:  # later the same week: nothing new
        assert send_price_digest(s, NOON + timedelta(days=3))["queued"] == 0
    assert len(rows(db)) == 2
    with db.session() as s:  # the week after, those prices are older than 7 days: nothing
        later = send_price_digest(s, NOON + timedelta(days=8))
    assert (later["queued"], later["nothing_fresh"]) == (0, 3)


def test_week_tag_uses_lima_dates():
    assert week_tag(datetime(2026, 11, 30, 4, 0, tzinfo=timezone.utc)) == "2026-W48"  # Sun 23:00
    assert week_tag(datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)) == "2026-W49"


def test_real_sender_delivers_the_digest(app, db, prices, fake_twilio):
    with db.session() as s:
        [grower] = add_contacts(s, 1)
        subscribe(s, grower, product="papa")
        phone = grower.phone
    with db.session() as s:
        send_price_digest(s, NOON)
    assert Sender(services(app)).run_once(NOON) == {"sent": 1}
    [message] = fake_twilio.messages
    assert message["to"] == phone and "Papa amarilla Huancayo 20/11" in message["body"]
    assert "Fuente: PRUEBA / test data." in message["body"]
    assert rows(db)[0].status == "sent"


def test_calendar_tip_once_a_month_where_a_sourced_tip_exists(app, db):
    with db.session() as s:
        junin, piura, stopped, no_consent, other = add_contacts(s, 5)
        piura.region = "piura"
        stopped.opted_out_at = NOON
        no_consent.consent_at = None
        for contact in (junin, piura, stopped, no_consent):
            subscribe(s, contact, kind="calendar")
        subscribe(s, other, product="papa")  # prices only: no tip
        junin_id = junin.id
    with db.session() as s:
        assert send_calendar_tips(s, JUNE_FIRST) == {"contacts": 2, "queued": 1, "no_tip": 1,
                                                     "already_queued": 0}
    [row] = rows(db)
    assert row.key == f"calendar:2026-06:contact:{junin_id}" and row.topic == "agroecology"
    assert row.body.startswith("Consejo de junio: Junio y julio traen las heladas más fuertes.")
    assert "Fuente: SENAMHI, DMC Chile." in row.body
    assert row.not_after == datetime(2026, 7, 1, 5, 0, tzinfo=timezone.utc)  # July 1st in Lima
    with db.session() as s:
        assert send_calendar_tips(s, JUNE_FIRST + timedelta(days=14))["queued"] == 0
        assert send_calendar_tips(s, JUNE_FIRST + timedelta(days=30))["queued"] == 1  # July: frost
        assert send_calendar_tips(s, JUNE_FIRST + timedelta(days=92))["queued"] == 2  # September


def test_every_calendar_tip_is_sourced_and_fits_two_sms():
    data = calendar()
    assert data["date_checked"]
    assert sorted({tip["month"] for tip in data["tips"]}) == list(range(1, 13))
    for tip in data["tips"]:
        assert tip["sources"] and all(src["title"] and src["url"].startswith("http")
                                      for src in tip["sources"])
        assert segment_count(to_gsm7(tip_text(tip, tip["month"], "es"))) <= 2, tip["text"]
    assert tip_for(6, "piura") is None and tip_for(6, "puno")["topic"] == "heladas"
    assert tip_for(1, None)["regions"] == "all"


def test_asking_for_tips_subscribes_to_the_calendar_after_consent(app, db, ask):
    ask("quiero recibir consejos cada mes", "subscribe")
    with db.session() as s:  # nothing stored before consent
        assert s.scalar(select(Subscription)) is None
    for answer in ("si", "1", "junin"):
        reply = ask(answer)
    assert "un consejo agroecologico cada mes para Junin" in reply[0]  # SMS: GSM-7
    with db.session() as s:
        sub = s.scalar(select(Subscription))
        assert (sub.kind, sub.region, sub.status) == ("calendar", "junin", "active")


@pytest.mark.parametrize("name", ["send_price_digest", "send_calendar_tips", "send_due_reminders"])
def test_scheduled_jobs_run_through_run_job(app, db, database_url, name):
    from bot.jobs import run_job
    from bot.scheduler import TIMETABLE

    assert name in {job for job, _trigger, _args in TIMETABLE.values()}
    with db.session() as s:
        [contact] = add_contacts(s, 1)
        subscribe(s, contact, kind="calendar")
    counts = run_job(name, database_url)  # the real clock: counts, whatever is due
    assert "queued" in counts
    if name == "send_calendar_tips":  # Junín has a sourced tip every month
        assert counts["queued"] == 1
