"""POST /webhooks/twilio and /webhooks/twilio/status through Flask, on SQLite and PostgreSQL."""
from sqlalchemy import func, select

from models import Contact, Message
from tests.conftest import make_app
from tests.fakes.signing import FAKE_PHONE, inbound_form, new_sid, post_signed, signature

PATH = "/webhooks/twilio"


def count(db, model):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_valid_signature_gets_twiml(client, db):
    response = post_signed(client, PATH, inbound_form("hola", sid=new_sid()))
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    body = response.get_data(as_text=True)
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "1 Precios" in body
    assert count(db, Message) == 2


def test_forged_signature_is_rejected_and_nothing_is_stored(client, db):
    form = inbound_form("hola", sid=new_sid())
    forged = signature("http://localhost" + PATH, form, token="not-the-token")
    response = client.post(PATH, data=form, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403
    assert count(db, Message) == 0 and count(db, Contact) == 0


def test_missing_signature_is_rejected(client, db):
    assert client.post(PATH, data=inbound_form("hola", sid=new_sid())).status_code == 403
    assert count(db, Message) == 0


def test_tampered_parameter_is_rejected(client):
    form = inbound_form("hola", sid=new_sid())
    sig = signature("http://localhost" + PATH, form)
    form["Body"] = "STOP"
    assert client.post(PATH, data=form, headers={"X-Twilio-Signature": sig}).status_code == 403


def test_signature_over_every_parameter_twilio_adds(client):
    form = inbound_form("hola", sid=new_sid(), SomeNewTwilioField="x", FromCity="HUANCAYO")
    assert post_signed(client, PATH, form).status_code == 200


def test_public_url_is_used_behind_a_proxy(database_url):
    app = make_app(database_url, PUBLIC_URL="https://chaski.example.org")
    client = app.test_client()
    form = inbound_form("hola", sid=new_sid())
    ok = post_signed(client, PATH, form, url="https://chaski.example.org" + PATH)
    assert ok.status_code == 200
    form["MessageSid"] = new_sid()
    assert post_signed(client, PATH, form).status_code == 403  # signed over the internal URL


def test_forwarded_headers_rebuild_the_public_url_behind_a_trusted_proxy(database_url):
    client = make_app(database_url, TRUSTED_PROXIES=1).test_client()
    form = inbound_form("hola", sid=new_sid())
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.org"}
    ok = post_signed(client, PATH, form, url="https://bot.example.org" + PATH, headers=headers)
    assert ok.status_code == 200


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(client):
    form = inbound_form("hola", sid=new_sid())
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.org"}
    forged = post_signed(client, PATH, form, url="https://bot.example.org" + PATH, headers=headers)
    assert forged.status_code == 403  # TRUSTED_PROXIES=0: signed over the URL we were called on


def test_validation_can_be_switched_off_for_local_experiments(database_url):
    app = make_app(database_url, TWILIO_VALIDATE=False)
    assert app.test_client().post(PATH, data=inbound_form("hola", sid=new_sid())).status_code == 200


def test_no_auth_token_means_every_webhook_is_rejected(database_url):
    app = make_app(database_url, TWILIO_AUTH_TOKEN=None)
    form = inbound_form("hola", sid=new_sid())
    assert post_signed(app.test_client(), PATH, form).status_code == 403


def test_duplicate_sid_gets_the_same_reply_and_changes_nothing(client, db):
    sid = new_sid()
    first = post_signed(client, PATH, inbound_form("quiero que me avisen", sid=sid))
    rows = count(db, Message)
    with db.session() as s:
        contact = s.scalar(select(Contact))
        before = (contact.consent_at, contact.last_inbound_at)
    again = post_signed(client, PATH, inbound_form("quiero que me avisen", sid=sid))
    assert again.get_data() == first.get_data()
    assert count(db, Message) == rows
    with db.session() as s:
        contact = s.scalar(select(Contact))
        assert (contact.consent_at, contact.last_inbound_at) == before


def test_duplicate_sid_of_a_redacted_turn_still_gets_the_emergency_numbers(client):
    sid = new_sid()
    first = post_signed(client, PATH, inbound_form("mi pareja me pega", sid=sid))
    again = post_signed(client, PATH, inbound_form("mi pareja me pega", sid=sid))
    assert "105" in again.get_data(as_text=True) and again.get_data() == first.get_data()


def test_whatsapp_prefix_is_a_whatsapp_contact_with_unicode_replies(client, db):
    response = post_signed(client, PATH, inbound_form("hola", sid=new_sid(), channel="whatsapp"))
    body = response.get_data(as_text=True)
    assert "número" in body  # Unicode kept on WhatsApp
    with db.session() as s:
        contact = s.scalar(select(Contact))
        assert contact.phone == FAKE_PHONE and contact.channels == ["whatsapp"]
        assert contact.last_whatsapp_inbound_at is not None
        assert contact.profile == {}  # ProfileName is not stored without consent


def test_sms_replies_are_gsm7(client):
    body = post_signed(client, PATH, inbound_form("hola", sid=new_sid())).get_data(as_text=True)
    assert "numero" in body and "número" not in body


def test_media_only_message_gets_a_kind_please_write(client, db):
    form = inbound_form("", sid=new_sid(), channel="whatsapp", NumMedia=1,
                        MediaUrl0="https://api.twilio.com/fake/media/ME1",
                        MediaContentType0="audio/ogg")
    body = post_signed(client, PATH, form).get_data(as_text=True)
    assert "Por favor escribe" in body and "1, 2 o 3" in body
    with db.session() as s:
        assert s.scalar(select(Message.num_media).where(Message.direction == "in")) == 1


def test_empty_body_shows_the_menu(client):
    body = post_signed(client, PATH, inbound_form("", sid=new_sid())).get_data(as_text=True)
    assert "1 Precios" in body


def test_very_long_body_is_cut_and_answered(client, db):
    response = post_signed(client, PATH, inbound_form("papa " * 1000, sid=new_sid()))
    assert response.status_code == 200 and "<Message>" in response.get_data(as_text=True)
    with db.session() as s:
        message = s.scalar(select(Message).where(Message.direction == "in"))
        assert len(message.body) == 1600 and message.truncated


def test_status_callback_records_delivery_and_never_goes_back(client, db, app):
    sid = new_sid()
    post_signed(client, PATH, inbound_form("hola", sid=sid))
    with db.session() as s:
        reply = s.scalar(select(Message).where(Message.direction == "out"))
        reply.twilio_sid = "SM" + "a" * 32
    status = f"{PATH}/status"
    form = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered"}
    assert post_signed(client, status, form).status_code == 204
    late = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "sent"}
    assert post_signed(client, status, late).status_code == 204
    with db.session() as s:
        assert s.scalar(select(Message.status).where(Message.twilio_sid == "SM" + "a" * 32)) == "delivered"


def test_status_callback_failure_keeps_the_error_code(client, db):
    post_signed(client, PATH, inbound_form("hola", sid=new_sid()))
    with db.session() as s:
        s.scalar(select(Message).where(Message.direction == "out")).twilio_sid = "SMfail"
    form = {"MessageSid": "SMfail", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert post_signed(client, f"{PATH}/status", form).status_code == 204
    with db.session() as s:
        message = s.scalar(select(Message).where(Message.twilio_sid == "SMfail"))
        assert (message.status, message.error_code) == ("undelivered", 30003)


def test_status_callback_needs_a_signature_and_a_known_status(client):
    form = {"MessageSid": "SMx", "MessageStatus": "delivered"}
    assert client.post(f"{PATH}/status", data=form).status_code == 403
    bogus = {"MessageSid": "SMx", "MessageStatus": "bogus"}
    assert post_signed(client, f"{PATH}/status", bogus).status_code == 400
    assert post_signed(client, f"{PATH}/status", form).status_code == 204  # unknown SID: ignored


def test_healthz_reports_db_and_nlu(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"db": True, "nlu": False, "sender_seen": None,
                                   "scheduler_seen": None}


def test_a_number_from_abroad_gets_a_clear_reply_through_the_webhook_and_nothing_is_stored(client, db):
    response = post_signed(client, "/webhooks/twilio", inbound_form("hola", sid=new_sid(),
                                                                    phone="+12025550143"))
    assert response.status_code == 200
    assert "solo a numeros de Peru" in response.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
        assert s.scalar(select(func.count()).select_from(Contact)) == 0
