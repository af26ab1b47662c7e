"""Campaign pages: create, preview, schedule, deliver through the real sender, counts, CSV, access."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.jobs import JOBS
from bot.services import services
from bot.outbound.sender import Sender
from models import AuditLog, Broadcast, OutboxMessage
from tests.console.conftest import csrf_token
from tests.fakes.signing import post_signed
from tests.fakes.outbox import NOON, add_contacts
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures: the app sends to the fake API

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
NEW = "/console/campanas/nueva"


@pytest.fixture(autouse=True)
def fixed_noon(monkeypatch):
    """Let the console's clock read 12:00 in Lima (outside quiet hours), as the sender's does."""
    monkeypatch.setattr("bot.console.campaigns.utcnow", lambda: NOON)


def audit_actions(db) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def broadcast_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Broadcast))


def create(client, **fields) -> object:
    data = {"csrf_token": csrf_token(client, NEW), "name": "Helada", "when": "now",
            "action": "create", **fields}
    return client.post(NEW, data=data)


def people(db):
    with db.session() as s:
        junin = add_contacts(s, 2, region="junin")
        junin += add_contacts(s, 1, start=910_000_100, region="junin", channels=["sms", "whatsapp"],
                              last_whatsapp_inbound_at=NOON - timedelta(hours=1))
        add_contacts(s, 1, start=910_000_200, region="puno")
        return [c.phone for c in junin]


def test_create_preview_schedule_and_deliver_through_the_real_sender(as_role, app, db,
                                                                      fake_twilio):
    phones = people(db)
    client = as_role("coordinator")
    text = "Helada esta noche en Junín: cubra sus cultivos y abrigue a sus animales"
    response = create(client, text_es=text, seg_region="Junin")
    assert response.status_code == 302
    b_id = int(re.search(r"/campanas/(\d+)/vista-previa", response.headers["Location"]).group(1))

    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<div class="n" id="recipients">3</div>' in preview
    assert "Helada esta noche en Junin: cubra" in preview  # the text as SMS, rewritten to GSM-7
    assert '<td class="segments">1</td>' in preview and 'id="sms-segments">2<' in preview
    assert 'id="cost">0.15<' in preview  # 2 SMS segments + 1 WhatsApp at 0.05
    assert "Programar envío" in preview

    token = csrf_token(client, f"/console/campanas/{b_id}")
    assert client.post(f"/console/campanas/{b_id}/programar",
                       data={"csrf_token": token}).status_code == 302
    with db.session() as s:
        assert s.get(Broadcast, b_id).status == "scheduled"
        assert JOBS["send_due_broadcasts"](s, NOON)["queued"] == 3
    assert Sender(services(app)).run_once(NOON) == {"sent": 3}
    assert sorted(m["to"].removeprefix("whatsapp:") for m in fake_twilio.messages) == sorted(phones)
    assert {m["body"] for m in fake_twilio.messages} == {text.replace("í", "i"), text}

    with db.session() as s:
        sids = s.scalars(select(OutboxMessage.twilio_sid).where(OutboxMessage.broadcast_id == b_id)
                         .order_by(OutboxMessage.id)).all()
    webhook = app.test_client()
    post_signed(webhook, "/webhooks/twilio/status", {"MessageSid": sids[0], "MessageStatus": "delivered"})
    post_signed(webhook, "/webhooks/twilio/status",
                {"MessageSid": sids[1], "MessageStatus": "undelivered", "ErrorCode": "30003"})
    detail = client.get(f"/console/campanas/{b_id}").get_data(as_text=True)
    for status, n in (("delivered", 1), ("undelivered", 1), ("sent", 1), ("queued", 0)):
        assert f'id="count-{status}">{n}<' in detail, status
    assert "<svg" in detail and "<title>entregado: 1</title>" in detail

    export = client.get(f"/console/campanas/{b_id}/envios.csv")
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r["estado"] for r in rows) == ["delivered", "sent", "undelivered"]
    assert sorted(r["telefono"] for r in rows) == sorted(p[:-4] + "****" for p in phones)
    assert [r["codigo_error"] for r in rows if r["estado"] == "undelivered"] == ["30003"]
    assert {r["canal"] for r in rows} == {"sms", "whatsapp"} and all(r["enviado_lima"] for r in rows)
    body = export.get_data(as_text=True)
    assert all(p not in body for p in phones) and "cultivos" not in body
    assert audit_actions(db)[-3:] == ["broadcast_create", "broadcast_schedule", "campaign_export"]


@pytest.mark.parametrize("fields,message", [
    ({"text_es": "", "text_qu": ""}, "Escribe el mensaje al menos en un idioma"),
    ({"name": ""}, "Escribe un nombre"),
    ({"content_variables": "{1: Junin"}, "deben ser JSON"),
    ({"content_sid": "XX123"}, "empieza con HX"),
    ({"content_variables": '{"1": "Junin"}'}, "falta la plantilla"),
    ({"topic": "gbv"}, "Tema no permitido"),
    ({"topic": "Violencia familiar"}, "Nunca se envían mensajes proactivos sobre violencia"),
    ({"when": "at", "send_at": "2020-01-01T08:00"}, "ya pasó"),
    ({"when": "at", "send_at": "mañana"}, "no es válida"),
    ({"when": "cron", "cron": "cada lunes"}, "no es un cron válido"),
    ({"channel": "fax"}, "SMS o WhatsApp"),
    ({"seg_active_days": "treinta"}, "número entero"),
])
def test_bad_input_shows_the_error_and_keeps_what_was_typed(as_role, db, fields, message):
    client = as_role("coordinator")
    typed = {"name": "Precios semana", "text_es": "Papa en Huancayo: S/ 1.20 el kilo",
             "text_qu": "Papa chani", "seg_region": "junin, puno", "seg_province": "huancayo",
             "topic": "precios", "urgent": "1"}
    response = create(client, **{**typed, **fields})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert 'id="form-error"' in html
    for name, value in {**typed, **fields}.items():
        if name in ("urgent", "topic", "channel") or not value:
            continue
        shown = value.replace('"', "&#34;")
        assert shown in html, name  # nothing typed is lost
    assert 'name="urgent" value="1" id="urgent" checked' in html
    assert broadcast_count(db) == 0


def test_texts_preview_as_sms_without_creating_anything(as_role, db):
    client = as_role("admin")
    response = client.post(NEW, data={"csrf_token": csrf_token(client, NEW), "action": "texts",
                                      "name": "x", "text_es": "Mañana habrá helada en Junín",
                                      "text_ay": "Jallu " * 40})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Mañana habra helada en Junin" in html and "reescrito a GSM-7" in html
    assert re.search(r'id="preview-ay">.*?<b>2 segmentos</b>', html, re.S)
    assert 'id="preview-qu"' not in html
    assert broadcast_count(db) == 0


def test_preview_warns_about_whatsapp_without_template(as_role, db):
    with db.session() as s:
        add_contacts(s, 2, channels=["sms", "whatsapp"],
                     last_whatsapp_inbound_at=NOON - timedelta(days=3))
    client = as_role("coordinator")
    location = create(client, text_es="Feria el sábado", channel="whatsapp").headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert "2 contactos de WhatsApp no escribieron en las últimas 24 horas" in html
    location = create(client, text_es="Feria el sábado", channel="whatsapp",
                      content_sid="HX" + "a" * 32, content_variables='{"1": "sábado"}'
                      ).headers["Location"]
    assert "no escribieron en las últimas 24 horas" not in client.get(location).get_data(as_text=True)


def test_cancel_cancels_queued_messages_and_is_audited(as_role, app, db):
    people(db)
    client = as_role("admin")
    location = create(client, text_es="Reunión el lunes", seg_region="junin").headers["Location"]
    b_id = int(location.split("/")[-2])
    token = csrf_token(client, location)
    client.post(f"/console/campanas/{b_id}/programar", data={"csrf_token": token})
    with db.session() as s:
        JOBS["send_due_broadcasts"](s, NOON)
    response = client.post(f"/console/campanas/{b_id}/cancelar", data={"csrf_token": token},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "3 mensajes en cola cancelados" in html and 'id="count-canceled">3<' in html
    assert Sender(services(app)).run_once(NOON) == {}
    again = client.post(f"/console/campanas/{b_id}/cancelar", data={"csrf_token": token},
                        follow_redirects=True).get_data(as_text=True)
    assert "ya estaba cancelada" in again
    assert audit_actions(db).count("broadcast_cancel") == 1
    client.post(f"/console/campanas/{b_id}/programar", data={"csrf_token": token})
    with db.session() as s:
        assert s.get(Broadcast, b_id).status == "canceled"  # a canceled one is never scheduled


def test_list_and_list_csv(as_role, db):
    client = as_role("coordinator")
    create(client, name="Precios =SUM(A1)", text_es="Papa S/ 1.20", when="cron", cron="0 8 * * 1")
    html = client.get("/console/campanas").get_data(as_text=True)
    assert "Precios =SUM(A1)" in html and "periódica: 0 8 * * 1" in html and "borrador" in html
    export = client.get("/console/campanas.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(export)))
    assert len(rows) == 1 and rows[0]["estado"] == "draft" and rows[0]["programacion"] == "0 8 * * 1"
    assert rows[0]["nombre"] == "Precios =SUM(A1)" and rows[0]["queued"] == "0"
    assert "campaigns_export" in audit_actions(db)


def test_access_and_csrf_on_every_campaign_page(console_app, as_role, db):
    client = as_role("coordinator")
    create(client, text_es="Hola")
    with db.session() as s:
        b_id = s.scalar(select(Broadcast.id))
    gets = ["/console/campanas", "/console/campanas.csv", NEW, f"/console/campanas/{b_id}",
            f"/console/campanas/{b_id}/vista-previa", f"/console/campanas/{b_id}/envios.csv"]
    posts = [NEW, f"/console/campanas/{b_id}/programar", f"/console/campanas/{b_id}/cancelar"]
    anonymous = console_app.test_client()
    for path in gets:
        response = anonymous.get(path)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"]
    for role in ("reviewer", "counsellor"):
        refused = as_role(role)
        assert "Campañas" not in refused.get("/console/").get_data(as_text=True)
        token = csrf_token(refused, "/console/")
        for path in gets:
            assert refused.get(path).status_code == 403, (role, path)
        for path in posts:
            assert refused.post(path, data={"csrf_token": token}).status_code == 403, (role, path)
    for role in ("admin", "coordinator"):
        allowed = as_role(role)
        assert "Campañas" in allowed.get("/console/").get_data(as_text=True)
        for path in gets:
            assert allowed.get(path).status_code == 200, (role, path)
        for path in posts:
            assert allowed.post(path, data={"name": "x", "text_es": "y"}).status_code == 400, path
            assert allowed.post(path, data={"csrf_token": "forged"}).status_code == 400, path
    with db.session() as s:
        assert s.get(Broadcast, b_id).status == "draft" and s.scalar(
            select(func.count()).select_from(Broadcast)) == 1
    assert as_role("admin").get("/console/campanas/999").status_code == 404


@pytest.mark.parametrize("fields,quiet", [
    ({"when": "at", "send_at": "2026-11-23T22:30"}, True),
    ({"when": "at", "send_at": "2026-11-23T22:30", "urgent": "1"}, False),
    ({"when": "at", "send_at": "2026-11-24T08:00"}, False),
    ({"when": "cron", "cron": "0 22 * * *"}, True),
    ({"when": "cron", "cron": "0 8 * * 1"}, False),
])
def test_preview_notes_a_send_time_in_quiet_hours(as_role, fields, quiet):
    client = as_role("coordinator")
    location = create(client, text_es="Reunion", **fields).headers["Location"]
    assert ('id="quiet-at-send"' in client.get(location).get_data(as_text=True)) is quiet


def test_every_segment_key_of_the_broadcasts_has_a_form_field(as_role, db):
    from bot.proactive.audience import SEGMENT_KEYS
    from bot.console.forms import segment_fields

    assert {f.key for f in segment_fields()} == SEGMENT_KEYS
    client = as_role("coordinator")
    assert 'id="seg_crop"' in client.get(NEW).get_data(as_text=True)
    create(client, text_es="Semilla de papa", seg_crop="Papa, quinua", seg_subscription="prices")
    with db.session() as s:
        assert s.scalar(select(Broadcast.segment)) == {"crop": ["papa", "quinua"],
                                                       "subscription": ["prices"]}


def test_survey_answer_audience_is_read_and_checked_against_the_survey(as_role, db):
    from bot.surveys import service as surveys
    from tests.surveys.test_surveys import SAMPLE

    with db.session() as s:
        surveys.load(s, SAMPLE, NOON)
    client = as_role("coordinator")
    assert 'id="seg_survey_answer"' in client.get(NEW).get_data(as_text=True)
    for typed, message in [
        ("cosecha-2026 usa_biol no", "escribe encuesta:pregunta=respuesta"),
        ("cosecha-2099:usa_biol=no", "No existe la encuesta «cosecha-2099»"),
        ("cosecha-2026:usa_abono=no", "no tiene la pregunta «usa_abono»"),
        ("cosecha-2026:usa_biol=tal vez", "acepta solo si, no"),
    ]:
        response = create(client, text_es="Taller de biol", seg_survey_answer=typed)
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and message in page, typed
        assert f'value="{typed}"' in page  # what was typed is kept
    assert broadcast_count(db) == 0
    response = create(client, text_es="Taller de biol", seg_survey_answer=" Cosecha-2026:usa_biol=NO")
    assert response.status_code == 302
    with db.session() as s:
        assert s.scalar(select(Broadcast.segment)) == {
            "survey_answer": {"survey": "cosecha-2026", "question": "usa_biol", "answer": "no"}}
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "survey_answer = cosecha-2026:usa_biol=no" in preview
