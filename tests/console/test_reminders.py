"""Reminder pages: create (errors in Spanish, fields kept), preview (who, segments, cost), pause,
resume, cancel (queued rows too), audit, access."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.proactive import reminders
from models import AuditLog, OutboxMessage, Reminder
from tests.console.conftest import csrf_token
from tests.fakes.outbox import NOON, add_contacts, give_date
from tests.fakes.outbox import app, db  # noqa: F401 - fixtures

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
NEW = "/console/recordatorios/nuevo"
TODAY = date(2026, 11, 23)  # NOON's date in Lima
TEXT = "Ya pasaron 30 días de tu siembra: es tiempo del primer aporque."


@pytest.fixture(autouse=True)
def fixed_noon(monkeypatch):
    monkeypatch.setattr("bot.console.reminders.utcnow", lambda: NOON)


def create(client, **fields):
    data = {"csrf_token": csrf_token(client, NEW), "name": "Aporque", "date_field": "siembra",
            "days": "30", "text_es": TEXT, "action": "create", **fields}
    return client.post(NEW, data=data)


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def actions(db) -> list[tuple]:
    with db.session() as s:
        return [(a.action, a.target) for a in s.scalars(
            select(AuditLog).where(AuditLog.action.like("reminder_%")).order_by(AuditLog.id))]


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "Escribe un nombre para el recordatorio."),
    ({"date_field": "Fecha de Siembra"}, "nombre corto en minúsculas"),
    ({"days": "treinta"}, "Los días deben ser un número entero"),
    ({"days": "400"}, "entre -366 y 366"),
    ({"text_es": "", "text_qu": ""}, "Escribe el mensaje al menos en un idioma"),
    ({"topic": "violencia"}, "Nunca se envían mensajes proactivos sobre violencia"),
    ({"seg_active_days": "cero"}, "debe ser un número entero mayor que cero"),
    ({"seg_survey_answer": "cosecha-2099:x=1"}, "No existe la encuesta «cosecha-2099»"),
])
def test_a_mistake_is_shown_in_spanish_with_the_fields_kept(as_role, db, fields, message):
    client = as_role("coordinator")
    response = create(client, **{"seg_region": "junin, puno", "text_qu": "Allpa", **fields})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html
    assert 'id="form-error"' in html and 'value="junin, puno"' in html
    assert ">Allpa</textarea>" in html or fields.get("text_qu") == ""
    assert count(db, Reminder) == 0 and actions(db) == []


def test_create_then_preview_who_is_due_segments_and_cost(as_role, db):
    with db.session() as s:
        junin = add_contacts(s, 3, region="junin")
        puno = add_contacts(s, 1, start=910_000_100, region="puno")[0]  # same 4 last digits
        for contact, sown in zip([*junin, puno], [TODAY - timedelta(days=30),
                                                  TODAY - timedelta(days=27), None,
                                                  TODAY - timedelta(days=30)]):
            if sown:
                give_date(s, contact, "siembra", sown)
    client = as_role("coordinator")
    texts = client.post(NEW, data={"csrf_token": csrf_token(client, NEW), "text_es": TEXT,
                                   "action": "texts"}).get_data(as_text=True)
    assert "Ya pasaron 30 dias de tu siembra" in texts and "1 segmento" in texts
    response = create(client, seg_region="Junin")
    assert response.status_code == 302
    with db.session() as s:
        r = s.scalar(select(Reminder))
        assert (r.name, r.date_field, r.days, r.segment, r.status) == (
            "Aporque", "siembra", 30, {"region": ["junin"]}, "active")
    assert actions(db) == [("reminder_create", f"reminder:{r.id}")]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Recordatorio creado y activo" in html
    # Junín only: one due today, one in 3 days; Puno's date is not in the audience.
    assert '<div class="n" id="recipients">2</div>' in html
    assert '<b id="sms-segments">2</b>' in html and '<div class="n" id="cost">0.10</div>' in html
    assert "2026-11-23" in html and "2026-11-26" in html and "region = junin" in html
    assert html.count(junin[0].phone[:-4] + "****") == 2  # masked; Puno's is not counted
    assert "Ya pasaron 30 dias de tu siembra" in html  # as sent by SMS (GSM-7)
    two_days = client.get(response.headers["Location"] + "?dias=2").get_data(as_text=True)
    assert '<div class="n" id="recipients">1</div>' in two_days and "2026-11-26" not in two_days
    listing = client.get("/console/recordatorios").get_data(as_text=True)
    assert "Aporque" in listing and "siembra" in listing and "+30" in listing


def test_pause_resume_and_cancel_with_its_queued_messages(as_role, db):
    with db.session() as s:
        [contact] = add_contacts(s, 1)
        give_date(s, contact, "siembra", TODAY - timedelta(days=30))
        r_id = reminders.create(s, name="aporque", date_field="siembra", days=30,
                                texts={"es": TEXT}, now=NOON).id
    client = as_role("admin")
    base = f"/console/recordatorios/{r_id}"

    def post(action):
        return client.post(f"{base}/{action}", data={"csrf_token": csrf_token(client, base)},
                           follow_redirects=True).get_data(as_text=True)

    assert "Recordatorio en pausa" in post("pausar")
    assert "No se puede pausar" in post("pausar")  # already paused
    assert "Recordatorio reanudado" in post("reanudar")
    with db.session() as s:
        assert reminders.send_due_reminders(s, NOON)["queued"] == 1
    html = post("cancelar")
    assert "Recordatorio cancelado; 1 mensajes en cola cancelados." in html
    assert 'id="status">cancelado<' in html and ">Cancelar</button>" not in html
    with db.session() as s:
        assert s.get(Reminder, r_id).status == "canceled"
        assert s.scalar(select(OutboxMessage.status)) == "canceled"
    assert actions(db) == [("reminder_pause", f"reminder:{r_id}"),
                           ("reminder_resume", f"reminder:{r_id}"),
                           ("reminder_cancel", f"reminder:{r_id}")]
    assert client.post(f"{base}/borrar", data={"csrf_token": csrf_token(client, base)}).status_code == 404
    assert client.get("/console/recordatorios/999").status_code == 404


@pytest.mark.parametrize("role", ["reviewer", "counsellor"])
def test_other_roles_can_neither_see_nor_change_reminders(as_role, db, role):
    with db.session() as s:
        r_id = reminders.create(s, name="aporque", date_field="siembra", days=30,
                                texts={"es": TEXT}, now=NOON).id
    client = as_role(role)
    token = csrf_token(client, "/console/")
    assert client.get(f"/console/recordatorios/{r_id}").status_code == 403
    assert "Recordatorios" not in client.get("/console/").get_data(as_text=True)
    for action in ("pausar", "cancelar"):
        assert client.post(f"/console/recordatorios/{r_id}/{action}",
                           data={"csrf_token": token}).status_code == 403
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, data={"csrf_token": token, "name": "x", "date_field": "siembra",
                                  "days": "1", "text_es": "x", "action": "create"}).status_code == 403
    with db.session() as s:
        assert s.get(Reminder, r_id).status == "active"
