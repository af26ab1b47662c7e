"""WhatsApp buttons and lists through the signed webhook and the fake Twilio (Content) API."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from models import ContentItem, Contact, OutboxMessage
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures
from tests.fakes.signing import inbound_form, new_sid, post_signed

PATH = "/webhooks/twilio"
WA_PHONE = "+51900000021"  # FAKE
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def post(client, body, sid=None, channel="whatsapp", phone=WA_PHONE, **extra):
    response = post_signed(client, PATH, inbound_form(body, sid=sid or new_sid(), phone=phone,
                                                     channel=channel, **extra))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def sent_with_content(fake):
    return [r["form"] for r in fake.requests
            if r["path"].endswith("/Messages.json") and "ContentSid" in r["form"]]


def count(db, model, *where):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_main_menu_is_a_list_picker_on_whatsapp_and_numbered_text_by_sms(app, db, fake_twilio):
    client = app.test_client()
    assert post(client, "menu") == EMPTY  # on WhatsApp: nothing in TwiML...
    [created] = fake_twilio.content_requests()
    picker = created["json"]["types"]["twilio/list-picker"]
    assert [(i["id"], i["item"]) for i in picker["items"]] == [
        ("1", "Precios"), ("2", "Clima y alertas"), ("3", "Chacra agroecológica"),
        ("4", "Apoyo a la mujer"), ("5", "Hablar con alguien"), ("6", "Idioma")]
    assert picker["button"] == "Ver opciones" and "1 Precios" not in picker["body"]
    assert "1 Precios" in created["json"]["types"]["twilio/text"]["body"]  # for older devices
    [message] = sent_with_content(fake_twilio)  # ...the list went by REST, with the new item
    assert message["To"] == f"whatsapp:{WA_PHONE}" and message["ContentSid"] in fake_twilio.contents
    with db.session() as s:
        row = s.scalar(select(OutboxMessage))
        assert (row.source, row.status, row.sent_as) == ("reply", "sent", "content")
    sms = post(client, "menu", channel="sms", phone="+51900000022")
    assert "<Message>Chaski. Responde con un numero:\n1 Precios\n2 Clima y alertas" in sms
    assert len(fake_twilio.content_requests()) == 1 and len(sent_with_content(fake_twilio)) == 1
    post(client, "menu")  # the same text again: the cached item, not a new one
    assert len(fake_twilio.content_requests()) == 1 and len(sent_with_content(fake_twilio)) == 2
    assert count(db, ContentItem) == 1


def test_a_button_reply_moves_the_flow_exactly_as_the_digit(app, db, fake_twilio):
    client = app.test_client()
    typed, tapped = "+51900000023", "+51900000024"  # FAKE
    for phone in (typed, tapped):
        post(client, "quiero recibir avisos", phone=phone)  # onboarding: consent as buttons
    [consent] = [r["json"]["types"] for r in fake_twilio.content_requests()]
    assert [(a["id"], a["title"]) for a in consent["twilio/quick-reply"]["actions"]] == [
        ("1", "Sí"), ("2", "No")]
    post(client, "1", phone=typed)
    post(client, "Sí", phone=tapped, ButtonPayload="1", ButtonText="Sí")  # a tapped button
    post(client, "3", phone=typed)
    post(client, "Aymara", phone=tapped, ButtonPayload="3", ButtonText="Aymara")
    post(client, "5", phone=typed)
    post(client, "Junín", phone=tapped, ListId="5", ListTitle="Junín")  # a picked list item
    kinds = [next(k for k in r["json"]["types"] if k != "twilio/text")
             for r in fake_twilio.content_requests()]
    assert kinds == ["twilio/quick-reply", "twilio/quick-reply", "twilio/list-picker"]
    with db.session() as s:
        found = {c.phone: (c.consent_at is not None, c.language, c.region)
                 for c in s.scalars(select(Contact))}
    assert found == {typed: (True, "ay", "junin"), tapped: (True, "ay", "junin")}
    bodies = {}
    for m in fake_twilio.messages:
        bodies.setdefault(m["to"], []).append(m["body"])
    assert bodies[f"whatsapp:{typed}"] == bodies[f"whatsapp:{tapped}"]  # the same answers


def test_a_repeated_message_sid_sends_one_interactive_message(app, db, fake_twilio):
    client = app.test_client()
    sid = new_sid()
    assert post(client, "menu", sid=sid) == EMPTY
    assert post(client, "menu", sid=sid) == EMPTY  # Twilio retried the webhook
    assert len(sent_with_content(fake_twilio)) == 1
    assert count(db, OutboxMessage) == 1


def test_content_api_failure_falls_back_to_numbered_text(app, db, fake_twilio):
    client = app.test_client()
    fake_twilio.fail_content_next(500, 20500, "Internal Server Error")
    reply = post(client, "menu")
    assert "<Message>Chaski. Responde con un número:\n1 Precios" in reply  # WhatsApp: Unicode
    assert sent_with_content(fake_twilio) == [] and count(db, OutboxMessage) == 0
    assert count(db, ContentItem) == 0  # nothing cached: the next message tries again
    assert post(client, "menu") == EMPTY and count(db, ContentItem) == 1


def test_without_a_whatsapp_sender_the_reply_stays_numbered_text(database_url, fake_twilio):
    from tests.fakes.outbox import outbox_app

    app = outbox_app(database_url, fake_twilio, TWILIO_WHATSAPP_FROM="")
    assert "1 Precios" in post(app.test_client(), "menu")
    assert fake_twilio.requests == []


def test_support_options_go_as_private_buttons_and_their_text_is_not_kept(app, db, fake_twilio):
    client = app.test_client()
    assert post(client, "mi pareja me pega") == EMPTY
    [created] = fake_twilio.content_requests()
    types = created["json"]["types"]
    assert "twilio/list-picker" in types  # "hablar con una persona" is too long for a button
    assert "105" in types["twilio/list-picker"]["body"]  # the numbers always come first
    with db.session() as s:
        row = s.scalar(select(OutboxMessage))
        assert (row.status, row.topic, row.body) == ("sent", "handoff_private", "")
    item = json.loads(json.dumps(fake_twilio.contents[sent_with_content(fake_twilio)[0]["ContentSid"]]))
    assert item["language"] == "es"


def test_survey_options_are_buttons_and_a_tap_is_the_answer(app, db, fake_twilio, clock):
    from datetime import timedelta

    from bot.outbound.sender import Sender
    from bot.services import services
    from bot.surveys import service as surveys
    from models import SurveyAnswer
    from tests.fakes.outbox import NOON, add_contacts
    from tests.surveys.test_surveys import SAMPLE

    clock(NOON + timedelta(minutes=5))
    with db.session() as s:
        [farmer] = add_contacts(s, 1, channels=["whatsapp"], last_whatsapp_inbound_at=NOON)
        survey, _ = surveys.load(s, SAMPLE, NOON)
        surveys.send(s, survey, {}, NOON)
    assert Sender(services(app)).run_once(NOON) == {"sent": 1}  # the invitation: free text
    client = app.test_client()
    post(client, "Quinua", phone=farmer.phone, ListId="3", ListTitle="Quinua")
    post(client, "1200", phone=farmer.phone)
    [yes_no] = [r["json"]["types"]["twilio/quick-reply"] for r in fake_twilio.content_requests()]
    assert yes_no["body"].startswith("3/4") and [a["id"] for a in yes_no["actions"]] == ["1", "2"]
    assert len(sent_with_content(fake_twilio)) == 1  # the yes/no question went as buttons
    post(client, "Mana", phone=farmer.phone, ButtonPayload="2", ButtonText="No")
    with db.session() as s:
        given = {a.question_key: a.value for a in s.scalars(select(SurveyAnswer))}
    assert given == {"cultivo": "quinua", "cosecha_kg": "1200", "usa_biol": "no"}


def test_the_offer_after_a_photo_is_buttons_and_a_tap_opens_the_technician_handoff(app, db,
                                                                                   fake_twilio):
    from models import HandoffRequest

    client = app.test_client()
    media = ("https://api.twilio.com/2010-04-01/Accounts/AC" + "f" * 32 + "/Messages/MM"
             + "1" * 32 + "/Media/ME" + "2" * 32)
    assert post(client, "", NumMedia="1", MediaUrl0=media, MediaContentType0="image/jpeg") == EMPTY
    [offer] = [r["json"]["types"]["twilio/quick-reply"] for r in fake_twilio.content_requests()]
    assert [(a["id"], a["title"]) for a in offer["actions"]] == [("1", "Sí"), ("2", "No")]
    post(client, "Sí", ButtonPayload="1", ButtonText="Sí")
    with db.session() as s:
        [handoff] = s.scalars(select(HandoffRequest)).all()
    assert handoff.topic == "technician"
