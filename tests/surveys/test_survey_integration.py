"""A survey end to end with the real parts: the real sender against the fake Twilio API
delivers the invitation, and the answers come back through the signed webhook."""
from __future__ import annotations

from datetime import timedelta
from html import unescape

from sqlalchemy import select

from bot.surveys import service as surveys
from bot.services import services
from bot.outbound.sender import Sender
from models import OutboxMessage, Survey, SurveyAnswer, SurveyParticipant
from tests.fakes.signing import inbound_form, new_sid, post_signed
from tests.fakes.outbox import NOON, add_contacts
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures
from tests.surveys.test_surveys import SAMPLE


def reply_of(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    xml = response.get_data(as_text=True)
    return unescape(xml.split("<Message>", 1)[1].split("</Message>", 1)[0])


def test_invitation_sent_by_the_real_sender_and_answered_through_the_webhook(app, db, fake_twilio,
                                                                           clock):
    clock(NOON + timedelta(hours=1))  # the webhook asks the app's clock: answers come an hour later
    with db.session() as s:
        farmer, stopped = add_contacts(s, 2)
        stopped.opted_out_at = NOON
        survey, _ = surveys.load(s, SAMPLE, NOON)
        assert surveys.send(s, survey, {"region": ["junin"]}, NOON)["invited"] == 1
        survey_id = survey.id
    assert Sender(services(app)).run_once(NOON) == {"sent": 1}
    assert Sender(services(app)).run_once(NOON) == {}  # never twice
    [sent] = fake_twilio.messages
    assert sent["to"] == farmer.phone and "1/4" in sent["body"] and "1 Papa 2 Maiz" in sent["body"]
    with db.session() as s:
        row = s.scalar(select(OutboxMessage))
        assert (row.status, row.twilio_sid) == ("sent", sent["sid"])
    client = app.test_client()
    status = {"MessageSid": sent["sid"], "MessageStatus": "delivered"}
    assert post_signed(client, "/webhooks/twilio/status", status).status_code == 204

    def answer(body: str) -> str:
        return reply_of(post_signed(client, "/webhooks/twilio",
                                    inbound_form(body, sid=new_sid(), phone=farmer.phone)))

    form = inbound_form("3", sid=new_sid(), phone=farmer.phone)
    assert reply_of(post_signed(client, "/webhooks/twilio", form)).startswith("2/4")
    # Twilio retries the same MessageSid: the same reply, and the survey does not move on.
    assert reply_of(post_signed(client, "/webhooks/twilio", form)).startswith("2/4")
    assert answer("abc").startswith("No entendi")
    assert answer("1200").startswith("3/4")
    assert answer("mana").startswith("4/4")
    assert answer("Crianza de cuyes").startswith("¡Gracias!")
    unsigned = client.post("/webhooks/twilio", data=inbound_form("hola", sid=new_sid(),
                                                                 phone=farmer.phone))
    assert unsigned.status_code == 403
    with db.session() as s:
        p = s.scalar(select(SurveyParticipant).where(SurveyParticipant.survey_id == survey_id))
        given = {a.question_key: a.value for a in s.scalars(select(SurveyAnswer))}
        assert s.get(Survey, survey_id).status == "sending"
        assert s.scalar(select(OutboxMessage.status)) == "delivered"
    assert p.status == "completed"
    assert given == {"cultivo": "quinua", "cosecha_kg": "1200", "usa_biol": "no",
                     "comentario": "Crianza de cuyes"}


def test_the_reminder_job_and_the_real_sender_remind_once_and_respect_quiet_hours(
        app, db, fake_twilio, database_url, clock):
    from bot.jobs import run_job

    with db.session() as s:
        silent = add_contacts(s, 1)[0]
        survey, _ = surveys.load(s, SAMPLE, NOON)
        surveys.send(s, survey, {}, NOON)
    sender = Sender(services(app))
    assert sender.run_once(NOON) == {"sent": 1}
    clock(NOON + timedelta(hours=1))  # run_job asks the app's clock: nothing is due an hour in
    assert run_job("send_survey_reminders", database_url) == {
        "closed": 0, "expired": 0, "reminded": 0}
    night = NOON + timedelta(days=2, hours=10, minutes=30)  # 22:30 Lima, 58.5 h after inviting
    with db.session() as s:
        assert surveys.send_survey_reminders(s, night)["reminded"] == 1
    with db.session() as s:
        assert surveys.send_survey_reminders(s, night)["reminded"] == 0
    assert sender.run_once(night) == {}  # quiet hours: the row was written for 07:00 Lima
    morning = night + timedelta(hours=9)
    assert sender.run_once(morning) == {"sent": 1} and sender.run_once(morning) == {}
    reminder = fake_twilio.messages[-1]
    assert reminder["to"] == silent.phone and reminder["body"].startswith("Recordatorio")
    assert len(fake_twilio.messages) == 2
