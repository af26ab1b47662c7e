"""Photos and voice notes reach a technician; media of a support conversation is never touched."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import services
from models import ConversationState, HandoffRequest, Message, OutboxMessage, User
from tests.console.conftest import _HASH, csrf_token, email_of, sign_in
from tests.fakes.twilio_media import OGG, PNG
from tests.whatsapp_inbound.conftest import contact, post_whatsapp, send_media

FARMER, WOMAN = "+51900000081", "+51900000082"  # FAKE test numbers
ROLES_THAT_SEE = ("admin", "coordinator", "counsellor", "technician")


@pytest.fixture
def staff(media_app):
    with services(media_app).db.session() as s:
        for role in ("admin", "coordinator", "counsellor", "technician", "reviewer", "translator"):
            s.add(User(email=email_of(role), role=role, password_hash=_HASH, active=True,
                       failed_logins=0))


def signed_in(app, role: str):
    client = app.test_client()
    assert sign_in(client, email_of(role)).status_code == 302
    return client


def handoffs(db):
    with db.session() as s:
        return s.scalars(select(HandoffRequest).order_by(HandoffRequest.id)).all()


def test_a_voice_note_becomes_a_technician_handoff_keeping_only_the_reference(media_app,
                                                                               media_server):
    client, db = media_app.test_client(), services(media_app).db
    url = media_server.add("audio/ogg", OGG)
    offer = send_media(client, FARMER, url, "audio/ogg")
    assert "No puedo escuchar audios." in offer and "1 Sí 2 No" in offer
    assert handoffs(db) == []
    done = post_whatsapp(client, FARMER, "1")
    assert "equipo técnico" in done
    [handoff] = handoffs(db)
    assert (handoff.topic, handoff.status) == ("technician", "open")
    assert handoff.media == [{"url": url, "content_type": "audio/ogg"}]
    assert media_server.total == 0  # nothing is fetched until staff look


def test_the_console_serves_the_audio_only_to_signed_in_staff_with_the_role(media_app, media_server,
                                                                            staff):
    client = media_app.test_client()
    send_media(client, FARMER, media_server.add("audio/ogg", OGG), "audio/ogg")
    post_whatsapp(client, FARMER, "1")
    handoff_id = handoffs(services(media_app).db)[0].id
    path = f"/console/derivaciones/{handoff_id}/medio/0"
    anonymous = media_app.test_client().get(path)
    assert anonymous.status_code == 302 and "/console/login" in anonymous.location
    for role in ("reviewer", "translator"):
        assert signed_in(media_app, role).get(path).status_code == 403
    assert media_server.total == 0
    for role in ROLES_THAT_SEE:
        response = signed_in(media_app, role).get(path)
        assert response.status_code == 200, role
        assert (response.data, response.mimetype) == (OGG, "audio/ogg")
        assert "no-store" in response.headers["Cache-Control"]
    assert (media_server.total, media_server.refused) == (len(ROLES_THAT_SEE), 0)
    page = signed_in(media_app, "technician").get("/console/derivaciones").get_data(as_text=True)
    assert f'<audio controls preload="none" src="{path}"' in page
    assert "api.twilio.com" not in page  # the public URL is never linked
    assert signed_in(media_app, "technician").get(
        f"/console/derivaciones/{handoff_id}/medio/1").status_code == 404


def test_technicians_see_only_their_own_handoffs(media_app, media_server, staff):
    client = media_app.test_client()
    post_whatsapp(client, FARMER, "quiero hablar con una persona")  # rules: a general hand-off
    send_media(client, "+51900000083", media_server.add("image/png", PNG), "image/png")
    post_whatsapp(client, "+51900000083", "si")
    general, photo = handoffs(services(media_app).db)
    assert (general.topic, photo.topic) == (None, "technician")
    technician = signed_in(media_app, "technician")
    page = technician.get("/console/derivaciones").get_data(as_text=True)
    assert f"/console/derivaciones/{photo.id}/medio/0" in page and 'alt="Foto que envió"' in page
    assert f"/console/derivaciones/{general.id}/responder" not in page
    assert technician.get(f"/console/derivaciones/{general.id}/medio/0").status_code == 404


def test_a_photo_inside_a_support_conversation_is_never_fetched_stored_or_shown(media_app,
                                                                                media_server, staff):
    client, db = media_app.test_client(), services(media_app).db
    url = media_server.add("image/jpeg", PNG)
    assert "105" in post_whatsapp(client, WOMAN, "me quiere matar")  # the support conversation
    reply = send_media(client, WOMAN, url, "image/jpeg")
    assert "3 hablar con una persona" in reply and "foto" not in reply.lower()
    with db.session() as s:  # the conversation goes on; no offer, no reference in its state
        state = s.scalar(select(ConversationState))
        assert (state.flow, "twilio.com" in repr(state.data)) == ("support", False)
    post_whatsapp(client, WOMAN, "3")  # she asks for a person: an urgent support hand-off
    [handoff] = handoffs(db)
    assert (handoff.topic, handoff.media) == ("support", [])
    with db.session() as s:
        photo = s.scalar(select(Message).where(Message.num_media == 1))
        stored = [repr(row.__dict__) for model in (ConversationState, Message, HandoffRequest,
                                                   OutboxMessage) for row in s.scalars(select(model))]
    assert (photo.body, photo.redacted) == (None, True)
    assert not any("twilio.com" in text for text in stored)  # the reference is kept nowhere
    page = signed_in(media_app, "counsellor").get("/console/derivaciones").get_data(as_text=True)
    assert "Envió 1 mensaje con foto, audio u otro archivo" in page
    assert "/medio/" not in page and "<img" not in page
    assert media_server.fetched(url) == 0 and media_server.total == 0


@pytest.mark.parametrize("content_type, expected", [
    ("video/mp4", "No puedo ver videos"),
    ("text/vcard", "Recibí un contacto. No guardamos contactos"),
    ("application/pdf", "No puedo abrir ese archivo"),
])
def test_video_contact_card_and_other_files_get_a_reply_that_fits(media_app, media_server,
                                                                  content_type, expected):
    client, db = media_app.test_client(), services(media_app).db
    reply = send_media(client, FARMER, media_server.add(content_type, b"x"), content_type)
    assert expected in reply and "1 Sí 2 No" not in reply
    post_whatsapp(client, FARMER, "1")  # "1" is the main menu's prices, not a hand-off
    assert handoffs(db) == [] and media_server.total == 0


def test_a_media_url_that_is_not_twilios_is_never_kept(media_app, media_server):
    client, db = media_app.test_client(), services(media_app).db
    reply = send_media(client, FARMER, media_server.base_url + "/elsewhere.png", "image/png")
    assert "Solo puedo leer texto" in reply
    assert post_whatsapp(client, FARMER, "1") and handoffs(db) == []
    assert contact(db, FARMER) is not None and media_server.total == 0


def test_the_technician_answers_with_the_usual_handoff_reply(media_app, media_server, staff):
    client, db = media_app.test_client(), services(media_app).db
    send_media(client, FARMER, media_server.add("image/png", PNG), "image/png")
    post_whatsapp(client, FARMER, "1")
    [handoff] = handoffs(db)
    technician = signed_in(media_app, "technician")
    token = csrf_token(technician, "/console/derivaciones")
    response = technician.post(f"/console/derivaciones/{handoff.id}/responder",
                               data={"body": "Parece rancha: quite las hojas con manchas.",
                                     "n": "1", "csrf_token": token})
    assert response.status_code == 302
    with db.session() as s:
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.source == "handoff"))
        assert (row.channel, row.contact_id, row.key) == ("whatsapp", handoff.contact_id,
                                                          f"handoff:{handoff.id}:reply:1")
    assert handoffs(db)[0].status == "answered"
