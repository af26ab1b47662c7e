"""Hand-off replies from the console: outbox, 24-hour window, opt-out, privacy, real sender."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.services import services
from bot.outbound.sender import Sender
from models import (AuditLog, Contact, ConversationState, HandoffRequest, Message, OutboxMessage)
from tests.console.conftest import csrf_token
from tests.fakes.signing import post_signed
from tests.fakes.outbox import NIGHT, NOON
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures: the app sends to the fake API

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
QUEUE = "/console/derivaciones"
TEMPLATE = "HX" + "b" * 32


@pytest.fixture
def clock(monkeypatch):
    """Set the console's clock (12:00 Lima unless a test moves it)."""
    now = [NOON]
    monkeypatch.setattr("bot.console.handoffs.utcnow", lambda: now[0])
    return now


def make_handoff(db, phone: str, *, channel: str = "sms", last_whatsapp=None, topic=None,
                 urgent=False, opted_out=False, support_open=False) -> int:
    """Add a contact who asked for a person on `channel`; return the hand-off id."""
    support = topic == "support"
    with db.session() as s:
        contact = Contact(phone=phone, channels=[channel], language="es", region="junin",
                          consent_at=NOON - timedelta(days=30), profile={},
                          last_inbound_at=NOON - timedelta(hours=1),
                          last_whatsapp_inbound_at=last_whatsapp,
                          opted_out_at=NOON - timedelta(minutes=5) if opted_out else None)
        s.add(contact)
        s.flush()
        asked = Message(contact_id=contact.id, direction="in", channel=channel,
                        body=None if support else "quiero hablar con una persona", redacted=support,
                        status="received", flow="support" if support else "handoff", entities={},
                        created_at=NOON - timedelta(hours=1))
        s.add(asked)
        s.flush()
        handoff = HandoffRequest(contact_id=contact.id, message_id=asked.id, topic=topic,
                                 urgent=urgent, status="open", created_at=NOON - timedelta(hours=1))
        s.add(handoff)
        if support_open:
            s.add(ConversationState(contact_id=contact.id, flow="support", step="menu", data={},
                                    expires_at=NIGHT + timedelta(minutes=30)))
        s.flush()
        return handoff.id


def reply(client, handoff_id: int, body: str, token: str | None = None):
    return client.post(f"{QUEUE}/{handoff_id}/responder", follow_redirects=True,
                       data={"body": body, "csrf_token": token or csrf_token(client, QUEUE)})


def outbox(db) -> list[OutboxMessage]:
    with db.session() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_a_whatsapp_reply_inside_the_window_is_sent_and_its_status_shown(as_role, app, db, clock,
                                                                         fake_twilio):
    h_id = make_handoff(db, "+51910000301", channel="whatsapp",
                        last_whatsapp=NOON - timedelta(hours=2))
    client = as_role("coordinator")
    html = reply(client, h_id, "Hola, soy Rosa de la ONG. ¿Le llamo mañana?").get_data(as_text=True)
    assert "Respuesta en la bandeja de salida; se envía en unos segundos." in html
    [row] = outbox(db)
    assert (row.key, row.source, row.topic, row.channel, row.status) == (
        f"handoff:{h_id}:reply:1", "handoff", "handoff", "whatsapp", "queued")
    with db.session() as s:
        assert s.get(HandoffRequest, h_id).status == "answered"
        [entry] = s.scalars(select(AuditLog).where(AuditLog.action == "handoff_reply")).all()
    assert entry.email == "coordinator@chaski.test" and entry.target == f"handoff:{h_id}"
    assert entry.detail["key"] == row.key and "Rosa" not in json.dumps(entry.detail)

    assert Sender(services(app)).run_once(NOON) == {"sent": 1}
    [sent] = fake_twilio.messages
    assert sent["to"] == "whatsapp:+51910000301"
    assert sent["body"] == "Hola, soy Rosa de la ONG. ¿Le llamo mañana?"  # WhatsApp keeps accents
    assert 'id="reply-status-%d">1 respuesta; la última:' % h_id in client.get(QUEUE).get_data(
        as_text=True)
    post_signed(app.test_client(), "/webhooks/twilio/status",
                {"MessageSid": sent["sid"], "MessageStatus": "delivered"})
    queue = client.get(QUEUE).get_data(as_text=True)
    assert '<span class="tag">entregada</span>' in queue and "respondida" in queue
    with db.session() as s:  # the thread shows what staff wrote
        logged = s.scalar(select(Message).where(Message.direction == "out"))
    assert logged.body == sent["body"] and logged.flow == "handoff" and not logged.redacted
    token = csrf_token(client, QUEUE)
    assert 'name="n" value="2"' in client.get(QUEUE).get_data(as_text=True)
    for _ in range(2):  # a double click on the same form
        html = client.post(f"{QUEUE}/{h_id}/responder", follow_redirects=True,
                           data={"body": "¿Sigue ahí?", "n": "2", "csrf_token": token}
                           ).get_data(as_text=True)
    assert "ya está en la bandeja de salida" in html
    assert [r.key for r in outbox(db)] == [f"handoff:{h_id}:reply:1", f"handoff:{h_id}:reply:2"]


def test_whatsapp_outside_the_window_is_refused_without_a_template(as_role, db, clock):
    h_id = make_handoff(db, "+51910000302", channel="whatsapp",
                        last_whatsapp=NOON - timedelta(hours=25))
    client = as_role("admin")
    queue = client.get(QUEUE).get_data(as_text=True)
    assert "más de 24 h desde su último mensaje" in queue and f"/{h_id}/responder" not in queue
    html = reply(client, h_id, "Hola").get_data(as_text=True)
    assert "Pasaron más de 24 horas" in html and "No se envió nada." in html
    assert outbox(db) == []
    with db.session() as s:
        assert s.get(HandoffRequest, h_id).status == "open"


def test_outside_the_window_a_configured_template_goes_out(as_role, app, db, clock, fake_twilio):
    services(app).settings = services(app).settings.with_overrides({"HANDOFF_TEMPLATE_SID": TEMPLATE})
    h_id = make_handoff(db, "+51910000303", channel="whatsapp",
                        last_whatsapp=NOON - timedelta(days=3))
    client = as_role("counsellor")
    assert "saldrá la plantilla aprobada" in client.get(QUEUE).get_data(as_text=True)
    reply(client, h_id, "Hola, le escribe la ONG")
    [row] = outbox(db)
    assert row.content_sid == TEMPLATE
    assert Sender(services(app)).run_once(NOON) == {"sent": 1}
    [request] = [r for r in fake_twilio.requests if r["form"].get("To")]
    assert request["form"]["ContentSid"] == TEMPLATE and "Body" not in request["form"]
    assert outbox(db)[0].sent_as == "template"


def test_sms_has_no_window_and_quiet_hours_hold_an_ordinary_reply(as_role, app, db, clock,
                                                                  fake_twilio):
    h_id = make_handoff(db, "+51910000304", channel="sms")
    with db.session() as s:
        s.get(Contact, s.get(HandoffRequest, h_id).contact_id).last_inbound_at = NOON - timedelta(days=9)
    clock[0] = NIGHT
    html = reply(as_role("counsellor"), h_id, "Buenas noches, mañana la llamamos").get_data(
        as_text=True)
    assert "saldrá a las 07:00" in html
    [row] = outbox(db)
    assert row.channel == "sms" and row.next_attempt_at > NIGHT
    assert Sender(services(app)).run_once(NIGHT) == {}
    assert Sender(services(app)).run_once(row.next_attempt_at) == {"sent": 1}
    assert fake_twilio.messages[0]["body"] == "Buenas noches, mañana la llamamos"


def test_an_opted_out_contact_is_never_answered(as_role, app, db, clock, fake_twilio):
    h_id = make_handoff(db, "+51910000305", opted_out=True)
    client = as_role("coordinator")
    assert "Pidió BAJA" in client.get(QUEUE).get_data(as_text=True)
    html = reply(client, h_id, "Hola").get_data(as_text=True)
    assert "Esta persona pidió BAJA" in html
    assert outbox(db) == []
    # Queued before she said BAJA: the sender cancels it at send time.
    h2 = make_handoff(db, "+51910000306")
    reply(client, h2, "Hola")
    with db.session() as s:
        s.get(Contact, s.get(HandoffRequest, h2).contact_id).opted_out_at = NOON
    assert Sender(services(app)).run_once(NOON) == {"canceled": 1}
    assert fake_twilio.messages == []


def test_a_counsellor_answers_a_violence_handoff_privately(as_role, app, db, clock, fake_twilio):
    h_id = make_handoff(db, "+51910000307", topic="support", urgent=True, support_open=True)
    for role in ("admin", "coordinator"):  # they do not even see it
        client = as_role(role)
        assert reply(client, h_id, "x", csrf_token(client, QUEUE)).status_code == 404
    clock[0] = NIGHT  # urgent: not held by quiet hours; inside her open support conversation
    counsellor = as_role("counsellor")
    text = "Hola, soy Carmen. Puedo llamarte al numero que indiques"
    reply(counsellor, h_id, text)
    [row] = outbox(db)
    assert row.topic == "handoff_private" and row.urgent
    assert Sender(services(app)).run_once(NIGHT) == {"sent": 1}  # not deferred: she asked
    assert [m["body"] for m in fake_twilio.messages] == [text]
    with db.session() as s:
        logged = s.scalar(select(Message).where(Message.direction == "out"))
        stored = [v for v in s.scalars(select(OutboxMessage.body))] + [
            json.dumps(a.detail) for a in s.scalars(select(AuditLog))]
    assert logged.body is None and logged.redacted  # like the rest of that conversation
    assert all("Carmen" not in v for v in stored)  # blanked once sent; never in the audit log
    queue = counsellor.get(QUEUE).get_data(as_text=True)
    assert "Carmen" not in queue and '<span class="tag">enviada</span>' in queue


def test_a_private_reply_outside_the_whatsapp_window_is_refused_even_with_a_template(
        as_role, db, clock):
    h_id = make_handoff(db, "+51910000308", channel="whatsapp", topic="support",
                        last_whatsapp=NOON - timedelta(days=2))
    html = reply(as_role("counsellor"), h_id, "Hola").get_data(as_text=True)
    assert "no se envía una plantilla" in html and outbox(db) == []


def test_reply_needs_csrf_a_role_and_an_open_handoff(console_app, as_role, db, clock):
    h_id = make_handoff(db, "+51910000309")
    path = f"{QUEUE}/{h_id}/responder"
    assert console_app.test_client().post(path, data={"body": "x"}).status_code == 400
    anonymous = console_app.test_client()
    token = csrf_token(anonymous)
    assert anonymous.post(path, data={"body": "x", "csrf_token": token}).status_code == 302
    coordinator = as_role("coordinator")
    assert coordinator.post(path, data={"body": "x"}).status_code == 400
    reviewer = as_role("reviewer")
    assert reviewer.post(path, data={"body": "x", "csrf_token": csrf_token(reviewer, "/console/")
                                     }).status_code == 403
    assert "Escribe la respuesta" in reply(coordinator, h_id, "   ").get_data(as_text=True)
    token = csrf_token(coordinator, QUEUE)
    coordinator.post(f"{QUEUE}/{h_id}/close", data={"csrf_token": token})
    assert "está cerrada" in reply(coordinator, h_id, "Hola", token).get_data(as_text=True)
    assert outbox(db) == []


def test_an_ordinary_reply_waits_while_a_support_conversation_is_open(as_role, app, db, clock,
                                                                       fake_twilio):
    h_id = make_handoff(db, "+51910000310", support_open=True)
    reply(as_role("coordinator"), h_id, "Sobre el precio de la papa: la llamo mañana")
    assert Sender(services(app)).run_once(NOON) == {"deferred": 1}
    assert fake_twilio.messages == []
    assert outbox(db)[0].next_attempt_at == NIGHT + timedelta(minutes=30)  # when it expires
