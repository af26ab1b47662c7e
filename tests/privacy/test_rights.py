"""MIS DATOS and BORRAR by the signed webhook, on SQLite and PostgreSQL (NLU down: rules)."""
from __future__ import annotations

from sqlalchemy import func, select

from bot.proactive import broadcasts
from flows.gsm7 import segment_count
from models import (AuditLog, Contact, Message, OutboxMessage, SurveyAnswer, SurveyParticipant,
                    utcnow)
from models.privacy import SuppressedNumber
from tests.fakes.signing import FAKE_PHONE
from tests.privacy.helpers import HER_WORDS, every_text_value, give_her_history, say

OTHER = "+51900000002"


def test_mis_datos_lists_what_is_stored_in_one_or_two_sms(client, db):
    give_her_history(client, db)
    reply = say(client, "MIS DATOS")
    assert "Español" in reply or "Espanol" in reply
    assert "Jauja, Junin" in reply and "SMS" in reply and "precios papa junin" in reply
    assert utcnow().strftime("%d/%m/%Y") in reply
    assert "2 mensajes" in reply  # her words and the bot's reply; this turn is counted after
    assert segment_count(reply) <= 2
    assert "BORRAR" in reply


def test_mis_datos_says_nothing_of_a_support_conversation(client, db):
    give_her_history(client, db)
    say(client, "mi esposo me golpea")
    say(client, "CHAU")
    reply = say(client, "mis datos")
    assert "2 mensajes" in reply
    for word in ("apoyo", "violencia", "105", "Linea"):
        assert word not in reply


def test_borrar_then_1_leaves_no_trace_of_her(client, db):
    give_her_history(client, db)
    say(client, "hola", OTHER)  # someone else stays
    assert "1 Si" in say(client, "BORRAR")
    assert "borramos tus datos" in say(client, "1")
    digits = FAKE_PHONE.lstrip("+")
    words = HER_WORDS.split() + ["zapallo"]
    for where, value in every_text_value(db):
        assert digits not in value and digits[2:] not in value, (where, value)
        assert not any(w in value.lower() for w in words if len(w) > 4), (where, value)
    with db.session() as s:
        assert s.scalars(select(Contact.phone)).all() == [OTHER]
        orphan = s.scalars(select(Message).where(Message.contact_id.is_(None))).all()
        assert orphan and all(m.body is None for m in orphan)  # counted, never read
        assert {m.intent for m in orphan} >= {"data_erase"}
        row = s.scalar(select(OutboxMessage))
        assert (row.status, row.body, row.contact_id) == ("canceled", "", None)
        part = s.scalar(select(SurveyParticipant))
        assert part.contact_id is None and part.status == "completed"
        assert [(a.question_key, a.value, a.raw) for a in s.scalars(select(SurveyAnswer))] == [
            ("usa_biol", "si", None)]  # the yes/no still counts; the free text is gone
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "contact_erased"))
        assert audit.detail["what"] == "a contact was erased" and audit.target is None
        assert s.scalar(select(func.count()).select_from(SuppressedNumber)) == 0  # never said STOP


def test_borrar_then_2_keeps_everything(client, db):
    give_her_history(client, db)
    say(client, "borrar mis datos")
    assert "no borramos nada" in say(client, "2")
    with db.session() as s:
        assert s.scalar(select(Contact.phone)) == FAKE_PHONE


def test_a_later_message_starts_a_new_contact(client, db):
    give_her_history(client, db)
    say(client, "BORRAR")
    say(client, "si")
    reply = say(client, "hola")
    assert "1 Precios" in reply
    with db.session() as s:
        contact = s.scalar(select(Contact))
        assert contact.consent_at is None and contact.region is None and contact.province is None
        assert contact.profile == {} and contact.channels == ["sms"]


def test_opted_out_contact_who_erases_is_never_messaged_by_a_broadcast(client, db):
    give_her_history(client, db)
    say(client, "BAJA")
    say(client, "BORRAR")
    assert "Seguiras sin recibir mensajes" in say(client, "1")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SuppressedNumber)) == 1
    # She writes again and tries to give consent: STOP still holds, until she sends ALTA.
    assert "ALTA" in say(client, "hola")
    say(client, "6")
    say(client, "1")
    say(client, "hola", OTHER)
    now = utcnow()
    with db.session() as s:
        other = s.scalar(select(Contact).where(Contact.phone == OTHER))
        other.consent_at = now
        b = broadcasts.create(s, name="a todas", texts={"es": "Feria el domingo"}, now=now,
                              urgent=True)
        broadcasts.run(s, broadcasts.schedule(s, b, now), now)
    with db.session() as s:
        sent_to = s.scalars(select(Contact.phone).join(
            OutboxMessage, OutboxMessage.contact_id == Contact.id)
            .where(OutboxMessage.source == "broadcast")).all()
        assert sent_to == [OTHER]


def test_alta_after_erasure_lifts_the_suppression(client, db):
    say(client, "BAJA")
    say(client, "BORRAR")
    say(client, "1")
    say(client, "ALTA")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SuppressedNumber)) == 0
        assert s.scalar(select(Contact.opted_out_at)) is None


def test_borrar_works_inside_another_flow(client, db):
    say(client, "1")  # prices asks which product
    assert "1 Si" in say(client, "BORRAR")
    say(client, "1")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0


def test_consent_records_its_channel_and_text_version(client, db):
    assert "Aceptas" in say(client, "6")
    say(client, "1")
    with db.session() as s:
        contact = s.scalar(select(Contact))
        assert (contact.consent_channel, contact.consent_version) == ("sms", "c1")
        assert contact.consent_at is not None


def test_borrar_works_with_the_nlu_server_stopped(client, db):
    assert client.get("/healthz").get_json()["nlu"] is False  # nothing listens at NLU_URL
    give_her_history(client, db)
    assert "1 Si" in say(client, "Borrar mis datos")
    say(client, "1")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0
        assert s.scalar(select(Message.nlu_source).where(Message.intent == "data_erase")) == "rule"
