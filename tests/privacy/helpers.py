"""Shared steps of the privacy tests: a contact with a little of everything, a signed webhook."""
from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

from sqlalchemy import String, Text

from models import (Base, Contact, HandoffRequest, OutboxMessage, Subscription, Survey,
                    SurveyAnswer, SurveyParticipant, utcnow)
from tests.fakes.signing import FAKE_PHONE, inbound_form, new_sid, post_signed

HER_WORDS = "rosaura cultiva zapallo morado en yanamarca"


def say(client, text: str, phone: str = FAKE_PHONE) -> str:
    """Post one signed inbound SMS and return the reply's text."""
    response = post_signed(client, "/webhooks/twilio", inbound_form(text, sid=new_sid(), phone=phone))
    assert response.status_code == 200
    root = ElementTree.fromstring(response.get_data())
    return " ".join(m.text or "" for m in root.iter("Message"))


def give_her_history(client, db, phone: str = FAKE_PHONE) -> None:
    """Let her write, then store consent, a subscription, a survey, a hand-off and a queued row."""
    say(client, HER_WORDS, phone)
    now = utcnow()
    with db.session() as s:
        contact = s.query(Contact).filter_by(phone=phone).one()
        contact.consent_at, contact.consent_channel, contact.consent_version = now, "sms", "c1"
        contact.region, contact.province = "junin", "Jauja"
        s.add(Subscription(contact_id=contact.id, kind="prices", product="papa", region="junin",
                           created_at=now))
        survey = Survey(slug="cosecha", title="Cosecha", source="ONG", status="sending",
                        questions=[{"key": "usa_biol", "type": "yes_no", "text": {"es": "¿Biol?"}},
                                   {"key": "comentario", "type": "text", "text": {"es": "¿Algo?"}}],
                        texts={}, created_at=now)
        s.add(survey)
        s.flush()
        part = SurveyParticipant(survey_id=survey.id, contact_id=contact.id, status="completed",
                                 invited_at=now)
        s.add(part)
        s.flush()
        s.add_all([SurveyAnswer(participant_id=part.id, question_key="usa_biol", value="si",
                                raw="si pues rosaura", answered_at=now),
                   SurveyAnswer(participant_id=part.id, question_key="comentario",
                                value="mi zapallo morado", raw="mi zapallo morado",
                                answered_at=now)])
        s.add(HandoffRequest(contact_id=contact.id, created_at=now))
        s.add(OutboxMessage(key=f"test:{contact.id}", source="broadcast", contact_id=contact.id,
                            channel="sms", body="Hola rosaura, tu zapallo", status="queued",
                            next_attempt_at=now + timedelta(hours=1), created_at=now))


def every_text_value(db):
    """Yield (table.column, text) for every string in any text or JSON column of any table."""
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for column, value in zip(table.columns, row):
                    if isinstance(column.type, (String, Text)) or value.__class__ in (dict, list):
                        yield f"{table.name}.{column.name}", str(value)
