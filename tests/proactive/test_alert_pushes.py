"""Climate alert pushes: who gets them, once, Update/Cancel wording, expiry, the real sender."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.proactive.alert_pushes import alert_text, queue_alert_pushes
from bot.conversations.facts import Facts
from flows.gsm7 import segment_count, to_gsm7
from bot.knowledge.alerts import import_alerts
from bot.services import services
from bot.outbound.sender import Sender
from models import Alert, Contact, ConversationState, OutboxMessage, Subscription
from tests.fakes.outbox import add_contacts
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures
from tests.fakes.signing import FAKE_PHONE
from tests.fakes.topics import DATA, NOW, ask, cli  # noqa: F401 - fixture

EXPIRES = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)  # cap_heladas.xml <expires>


def subscribe(s, contact, region="puno", hazard="", kind="alerts"):
    s.add(Subscription(contact_id=contact.id, kind=kind, hazard=hazard, region=region))


def people(db):
    """Create contacts around Puno; return their ids by role."""
    with db.session() as s:
        sub, sub_frost, sub_rain, junin_sub, plain, stopped, no_consent = add_contacts(
            s, 7, region="puno")
        junin_sub.region = "junin"
        stopped.opted_out_at = NOW - timedelta(days=1)
        no_consent.consent_at = None
        subscribe(s, sub)
        subscribe(s, sub_frost, hazard="helada")
        subscribe(s, sub_rain, hazard="lluvia")
        subscribe(s, junin_sub, region="junin")
        subscribe(s, stopped)
        subscribe(s, no_consent)
        return {"sub": sub.id, "frost": sub_frost.id, "rain": sub_rain.id, "junin": junin_sub.id,
                "plain": plain.id, "stopped": stopped.id, "no_consent": no_consent.id}


def imported(db, name, now=NOW):
    with db.session() as s:
        return import_alerts(s, DATA / name, now)


def rows(db, **where):
    with db.session() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.contact_id, OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return s.scalars(query).all()


def test_alert_reaches_matching_subscribers_once(app, db):
    ids = people(db)
    assert imported(db, "cap_heladas.xml").pushes == 2
    queued = rows(db)
    assert [r.contact_id for r in queued] == [ids["sub"], ids["frost"]]
    row = queued[0]
    assert row.key == f"alert:TEST-HELADAS-1:Alert:contact:{ids['sub']}"
    assert (row.source, row.topic, row.urgent, row.not_after) == ("alert", "alerts", False, EXPIRES)
    assert row.body.startswith("AVISO NARANJA: Heladas en Puno.")
    assert "Fuente: PRUEBA / test data, emitido 21/11 10:00." in row.body
    assert imported(db, "cap_heladas.xml").pushes == 0  # re-import: unchanged, nothing added
    with db.session() as s:  # and queueing the same alert again adds nothing either
        assert queue_alert_pushes(s, s.scalar(select(Alert)), NOW) == 0
    assert len(rows(db)) == 2


def test_red_update_reaches_everyone_in_the_region_and_replaces_queued_rows(app, db):
    ids = people(db)
    imported(db, "cap_heladas.xml")
    with db.session() as s:  # someone outside Puno was sent the first warning (e.g. travelling)
        s.add(OutboxMessage(key=f"alert:TEST-HELADAS-1:Alert:contact:{ids['junin']}",
                            source="alert", contact_id=ids["junin"], channel="sms", body="x",
                            status="sent"))
    assert imported(db, "cap_heladas_update.xml").pushes == 5  # sub, frost, rain, junin, plain
    old = rows(db, key=f"alert:TEST-HELADAS-1:Alert:contact:{ids['sub']}")[0]
    assert (old.status, old.error_message) == ("canceled", "replaced by Update TEST-HELADAS-2")
    new = rows(db, status="queued")
    assert [r.contact_id for r in new] == [ids["sub"], ids["frost"], ids["rain"], ids["junin"],
                                           ids["plain"]]
    assert all(r.urgent for r in new)
    assert new[0].body.startswith("ACTUALIZA: AVISO ROJO: Heladas en Puno.")
    assert "Fuente:" in new[0].body and ids["stopped"] not in {r.contact_id for r in new}


def test_cancel_tells_those_already_sent_and_cancels_the_rest(app, db):
    ids = people(db)
    imported(db, "cap_heladas.xml")
    imported(db, "cap_heladas_update.xml")
    with db.session() as s:  # the sender already delivered the update to one person
        row = s.scalar(select(OutboxMessage).where(
            OutboxMessage.key == f"alert:TEST-HELADAS-2:Update:contact:{ids['plain']}"))
        row.status = "sent"
    assert imported(db, "cap_heladas_cancel.xml").pushes == 1
    cancel = rows(db, key=f"alert:TEST-HELADAS-3:Cancel:contact:{ids['plain']}")[0]
    assert cancel.body.startswith("CANCELADO: el aviso de heladas para Puno ya no rige.")
    assert "Fuente: PRUEBA / test data, emitido 22/11 09:00." in cancel.body
    assert not cancel.urgent
    still = [r for r in rows(db) if r.key.startswith("alert:TEST-HELADAS-2:")]
    assert sorted(r.status for r in still) == ["canceled", "canceled", "canceled", "sent"]


def test_expired_alert_is_never_queued_nor_sent_late(app, db, fake_twilio):
    ids = people(db)
    assert imported(db, "cap_heladas.xml", now=EXPIRES + timedelta(hours=1)).pushes == 0
    with db.session() as s:
        s.execute(OutboxMessage.__table__.delete())
        s.execute(Alert.__table__.delete())
    imported(db, "cap_heladas.xml")  # queued while valid, but the sender runs after expiry
    sender = Sender(services(app))
    assert sender.run_once(EXPIRES + timedelta(minutes=1)) == {"canceled": 2}
    assert fake_twilio.messages == []
    assert {r.error_message for r in rows(db)} == {"expired before it could be sent"}
    assert ids


def test_real_sender_delivers_the_push_and_holds_it_during_a_support_talk(app, db, fake_twilio):
    ids = people(db)
    noon = datetime(2026, 11, 22, 17, 0, tzinfo=timezone.utc)  # 12:00 in Lima
    with db.session() as s:
        s.add(ConversationState(contact_id=ids["frost"], flow="support", step="options",
                                data={}, expires_at=noon + timedelta(minutes=30)))
    imported(db, "cap_heladas.xml", now=noon)
    sender = Sender(services(app))
    assert sender.run_once(noon) == {"sent": 1, "deferred": 1}
    with db.session() as s:
        phone = s.get(Contact, ids["sub"]).phone
    [message] = fake_twilio.messages
    assert message["to"] == phone and message["body"].startswith("AVISO NARANJA: Heladas en Puno")
    assert "Fuente: PRUEBA / test data" in message["body"]


def test_cli_import_and_load_demo_say_how_many_pushes_were_queued(app, db):
    first = cli(app, "load-demo")  # an empty database: it becomes the demo database
    assert first.exit_code == 0, first.output
    assert "'alert_pushes_queued': 0" in first.output  # the samples are Exercise alerts
    people(db)
    with db.session() as s:  # a subscriber in Junín, where a sample alert applies
        junin = add_contacts(s, 1, start=910_000_500, region="junin")[0]
        subscribe(s, junin, region="junin")
    again = cli(app, "load-demo")
    assert again.exit_code == 0 and again.output.count("'alert_pushes_queued': 0") == 1
    assert not rows(db, contact_id=junin.id)
    out = cli(app, "import-alerts", DATA / "cap_heladas_update.xml").output
    assert "pushes queued" in out


def test_red_alert_goes_out_in_quiet_hours_others_wait(app, db, fake_twilio):
    ids = people(db)
    night = datetime(2026, 11, 23, 3, 30, tzinfo=timezone.utc)  # 22:30 in Lima
    imported(db, "cap_heladas.xml", now=night - timedelta(hours=1))
    imported(db, "cap_heladas_update.xml", now=night - timedelta(minutes=30))
    with db.session() as s:  # a naranja row still waiting, as if queued for another alert
        s.execute(OutboxMessage.__table__.update()
                  .where(OutboxMessage.key == f"alert:TEST-HELADAS-1:Alert:contact:{ids['sub']}")
                  .values(status="queued", next_attempt_at=night))
    counts = Sender(services(app)).run_once(night)
    assert counts == {"sent": 4, "deferred": 1}
    assert all(m["body"].startswith("ACTUALIZA: AVISO ROJO") for m in fake_twilio.messages)


def test_text_in_the_contact_language_fits_two_sms(app, db):
    with db.session() as s:
        [quechua] = add_contacts(s, 1, region="puno", language="qu")
        subscribe(s, quechua)
    imported(db, "cap_heladas.xml")
    [row] = rows(db)
    assert row.body.startswith("WILLAKUY NARANJA: Heladas, Puno.")  # qu catalogue, es fallback
    assert "BAJA" in row.body
    with db.session() as s:
        view = Facts(s, NOW).active_alerts("puno")[0]
    long = replace(view, instruction="Abrigue a sus animales. " * 40)
    assert segment_count(to_gsm7(alert_text(long, "es", "Puno"))) <= 2


def test_subscribe_by_sms_then_the_next_warning_reaches_the_phone(app, db, ask, fake_twilio):
    """End to end: AVISAME in a conversation, an import, the real sender, the fake Twilio API."""
    assert "permiso" in ask("quiero alertas de heladas", "subscribe", hazard="helada")[0]
    ask("1")  # consent
    ask("1")  # Spanish
    assert ask("puno")[0].startswith("Listo: te enviaremos alertas de heladas para Puno.")
    noon = datetime(2026, 11, 22, 17, 0, tzinfo=timezone.utc)  # 12:00 in Lima
    assert imported(db, "cap_heladas.xml", now=noon).pushes == 1
    assert Sender(services(app)).run_once(noon) == {"sent": 1}
    [message] = fake_twilio.messages
    assert message["to"] == FAKE_PHONE
    assert message["body"].startswith("AVISO NARANJA: Heladas en Puno.")
    assert "Fuente: PRUEBA / test data, emitido 21/11 10:00." in message["body"]


def test_whatsapp_only_inside_the_24_hour_window_else_sms(app, db):
    with db.session() as s:
        recent, stale = add_contacts(s, 2, region="puno", channels=["sms", "whatsapp"])
        recent.last_whatsapp_inbound_at = NOW - timedelta(hours=2)
        stale.last_whatsapp_inbound_at = NOW - timedelta(days=3)
        subscribe(s, recent)
        subscribe(s, stale)
    imported(db, "cap_heladas.xml")
    assert [r.channel for r in rows(db)] == ["whatsapp", "sms"]  # no template for free text
