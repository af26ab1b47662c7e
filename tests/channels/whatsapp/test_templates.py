"""Proactive WhatsApp messages outside the 24-hour window: the approved template, SMS, or not sendable."""
from __future__ import annotations

import json
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from bot.outbound.sender import Sender
from bot.proactive import broadcasts
from bot.services import services
from bot.surveys import service as surveys
from models import OutboxMessage, WhatsAppTemplate
from tests.console.conftest import as_role, console_app, csrf_token, staff  # noqa: F401 - fixtures
from tests.fakes.outbox import NOON, add_contacts, outbox_app
from tests.surveys.test_surveys import SAMPLE

SURVEY_SID, HANDOFF_SID = "HX" + "1" * 32, "HX" + "2" * 32
AWAY = NOON - timedelta(days=3)  # her last WhatsApp message: the window closed long ago


@pytest.fixture
def app(database_url, fake_twilio):
    setting = json.dumps({"survey": {"es": {"sid": SURVEY_SID, "variables": {"1": "{body}"}}}})
    app = outbox_app(database_url, fake_twilio, WHATSAPP_TEMPLATES=setting)
    yield app
    services(app).db.dispose()


@pytest.fixture
def db(app):
    return services(app).db


def requests_to(fake, phone: str) -> list[dict]:
    return [r["form"] for r in fake.requests
            if r["path"].endswith("/Messages.json") and r["form"].get("To", "").endswith(phone)]


def test_a_survey_invitation_outside_the_window_goes_as_the_template(app, db, fake_twilio):
    with db.session() as s:
        [farmer] = add_contacts(s, 1, channels=["whatsapp"], last_whatsapp_inbound_at=AWAY)
        survey, _ = surveys.load(s, SAMPLE, NOON)
        assert surveys.send(s, survey, {}, NOON)["invited"] == 1
    assert Sender(services(app)).run_once(NOON) == {"sent": 1}
    [form] = requests_to(fake_twilio, farmer.phone)
    assert form["To"] == f"whatsapp:{farmer.phone}" and form["ContentSid"] == SURVEY_SID
    assert "Body" not in form  # free text would fail with 63016
    [variable] = json.loads(form["ContentVariables"]).values()
    assert "1/4" in variable and "1 Papa 2 Maíz" in variable and "\n" not in variable
    with db.session() as s:
        row = s.scalar(select(OutboxMessage))
        assert (row.channel, row.status, row.sent_as) == ("whatsapp", "sent", "template")


def test_no_template_goes_by_sms_when_she_has_it_else_not_sendable_with_the_reason_shown(
        app, db, fake_twilio, as_role):
    with db.session() as s:
        both = add_contacts(s, 1, channels=["sms", "whatsapp"], last_whatsapp_inbound_at=AWAY)[0]
        only = add_contacts(s, 1, start=910_000_100, channels=["whatsapp"],
                            last_whatsapp_inbound_at=AWAY)[0]
        b = broadcasts.create(s, name="feria", texts={"es": "Feria agroecológica el sábado"},
                              channel="whatsapp", now=NOON)
        assert broadcasts.run(s, b, NOON)["queued"] == 2
        broadcast_id = b.id
    assert Sender(services(app)).run_once(NOON) == {"sent": 1, "failed": 1}
    [sms] = requests_to(fake_twilio, both.phone)
    assert sms["To"] == both.phone and sms["Body"] == "Feria agroecologica el sabado"
    assert requests_to(fake_twilio, only.phone) == []
    with db.session() as s:
        failed = s.scalar(select(OutboxMessage).where(OutboxMessage.contact_id == only.id))
    assert (failed.status, failed.error_code) == ("failed", 63016)
    assert failed.error_message.startswith("no enviable: solo WhatsApp")
    page = unescape(as_role("coordinator").get(f"/console/campanas/{broadcast_id}")
                    .get_data(as_text=True))
    assert "Por qué no se enviaron" in page and failed.error_message in page


def test_the_templates_page_shows_what_is_missing_and_saves_a_template(app, db, as_role,
                                                                       fake_twilio):
    with db.session() as s:
        add_contacts(s, 2, channels=["whatsapp"], language="qu")
        add_contacts(s, 1, start=910_000_100, channels=["sms", "whatsapp"])
    for role in ("coordinator", "counsellor", "translator", "technician", "reviewer"):
        assert as_role(role).get("/console/plantillas").status_code == 403
    admin = as_role("admin")
    page = unescape(admin.get("/console/plantillas").get_data(as_text=True))
    assert 'id="whatsapp-only">2<' in page
    row = page.split('id="source-survey"')[1].split("</tr>")[0]
    assert SURVEY_SID in row and 'class="left-out">0<' in row  # the Spanish one covers quechua
    row = page.split('id="source-handoff"')[1].split("</tr>")[0]
    assert "falta" in row and 'class="left-out">2<' in row
    form = {"csrf_token": csrf_token(admin, "/console/plantillas"), "source": "handoff",
            "language": "qu", "content_sid": HANDOFF_SID, "variables": '{"1": "{body}"}'}
    admin.post("/console/plantillas", data=form)  # not in this Twilio account: refused
    assert fake_twilio.content_requests("GET")[0]["path"] == f"/v1/Content/{HANDOFF_SID}"
    with db.session() as s:
        assert s.scalars(select(WhatsAppTemplate)).all() == []
    fake_twilio.add_content(HANDOFF_SID, {"twilio/text": {"body": "Chaski te respondió: {{1}}"}})
    assert admin.post("/console/plantillas", data=form).status_code == 302
    admin.post("/console/plantillas", data=dict(form, content_sid="XX123", language="ay"))
    with db.session() as s:
        saved = s.scalars(select(WhatsAppTemplate)).all()
        assert [(t.source, t.language, t.content_sid) for t in saved] == [("handoff", "qu", HANDOFF_SID)]
    page = unescape(admin.get("/console/plantillas").get_data(as_text=True))
    assert 'class="left-out">0<' in page.split('id="source-handoff"')[1].split("</tr>")[0]
