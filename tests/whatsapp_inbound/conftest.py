"""WhatsApp inbound fixtures: signed posts of locations and media, the fake Twilio media server."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import services
from models import Contact
from tests.conftest import _empty_tables, make_app
from tests.fakes.signing import inbound_form, new_sid, post_signed
from tests.fakes.twilio_media import FakeTwilioMedia

PATH = "/webhooks/twilio"
JAUJA = ("-11.7760", "-75.4990")  # the town of Jauja, Junín
HUANCAVELICA = ("-12.7880", "-74.9760")  # the city of Huancavelica: no market of ours there
BUENOS_AIRES = ("-34.6037", "-58.3816")
AYACUCHO = ("-13.1600", "-74.2200")  # Huamanga: a department outside the program


def post_whatsapp(client, phone: str, body: str = "", **extra) -> str:
    """POST a signed WhatsApp message from `phone`; return the TwiML text."""
    form = inbound_form(body, sid=new_sid(), phone=phone, channel="whatsapp", **extra)
    response = post_signed(client, PATH, form)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def share_location(client, phone: str, point: tuple[str, str], **extra) -> str:
    """Send a WhatsApp location, as Twilio posts it."""
    return post_whatsapp(client, phone, Latitude=point[0], Longitude=point[1],
                         MessageType="location", **extra)


def send_media(client, phone: str, url: str, content_type: str, body: str = "") -> str:
    """Send a WhatsApp photo, voice note, video or contact card, as Twilio posts it."""
    return post_whatsapp(client, phone, body, NumMedia="1", MediaUrl0=url,
                         MediaContentType0=content_type, MessageType=content_type.split("/")[0])


def contact(db, phone: str) -> Contact | None:
    with db.session() as s:
        return s.scalar(select(Contact).where(Contact.phone == phone))


@pytest.fixture
def media_server():
    server = FakeTwilioMedia().start()
    yield server
    server.stop()


@pytest.fixture
def media_app(database_url, media_server):
    """The app with Twilio's media URLs answered by the loopback fake."""
    app = make_app(database_url, TWILIO_API_BASE_URL=media_server.base_url)
    _empty_tables(services(app).db)
    yield app
    services(app).db.dispose()
