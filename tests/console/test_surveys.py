"""Survey pages: response rates, results with charts, CSV export, sending to a segment; roles."""
from __future__ import annotations

import csv
import io

from sqlalchemy import select

from bot.surveys import service as surveys
from bot.conversations.engine import Inbound
from bot.services import services
from models import AuditLog, Contact, OutboxMessage, Survey, utcnow
from tests.console.conftest import csrf_token
from tests.surveys.test_surveys import SAMPLE

FARMERS = ["+51900000031", "+51900000032", "+51900000033"]  # FAKE test numbers


def seed(app) -> int:
    """Load the sample survey, invite three consenting farmers, let two of them answer."""
    db = services(app).db
    now = utcnow()
    with db.session() as s:
        s.add_all([Contact(phone=p, channels=["sms"], language="es", region="junin", profile={},
                           consent_at=now) for p in FARMERS])
        s.flush()
        survey, _ = surveys.load(s, SAMPLE, now)
        surveys.send(s, survey, {}, now)
        survey_id = survey.id
    for phone, script in zip(FARMERS, (["1", "120", "1", "Biol"], ["1", "80"])):
        for body in script:
            services(app).engine.handle(Inbound(address=phone, body=body))
    return survey_id


def test_a_coordinator_sees_rates_charts_and_downloads_the_csv(console_app, as_role):
    survey_id = seed(console_app)
    client = as_role("coordinator")
    listing = client.get("/console/encuestas").get_data(as_text=True)
    assert "Cosecha y prácticas 2026" in listing and "2 (67 %)" in listing
    html = client.get(f"/console/encuestas/{survey_id}").get_data(as_text=True)
    assert '<svg role="img" aria-label="Respuestas: ¿Qué cultivo' in html
    assert "<title>Papa: 2</title>" in html and "<title>Sí: 1</title>" in html
    assert "mediana 100" in html and "<li>Biol</li>" in html
    assert "sin responder: 1 · respondiendo: 1 · completaron: 1 · BAJA: 0" in html
    response = client.get(f"/console/encuestas/{survey_id}/csv")
    assert response.headers["Content-Disposition"] == "attachment; filename=encuesta-cosecha-2026.csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["phone"] for r in rows] == FARMERS  # coordinators see whole numbers
    assert rows[0]["cosecha_kg"] == "120" and rows[2]["status"] == "invited"


def test_send_to_a_segment_with_a_preview_and_csrf(console_app, as_role, db):
    now = utcnow()
    with db.session() as s:
        s.add_all([Contact(phone=p, channels=["sms"], language="es", region=r, profile={},
                           consent_at=now)
                   for p, r in zip(FARMERS, ("junin", "junin", "puno"))])
        survey_id = surveys.load(s, SAMPLE, now)[0].id
    client = as_role("admin")
    page = client.get(f"/console/encuestas/{survey_id}?region=junin&vista=1").get_data(as_text=True)
    assert '<strong id="vista">2</strong>' in page
    form = {"region": "junin", "csrf_token": csrf_token(client, f"/console/encuestas/{survey_id}")}
    assert client.post(f"/console/encuestas/{survey_id}/enviar",
                       data={"region": "junin"}).status_code == 400  # no token
    done = client.post(f"/console/encuestas/{survey_id}/enviar", data=form, follow_redirects=True)
    assert "2 personas invitadas (0 ya lo estaban)" in done.get_data(as_text=True)
    again = client.post(f"/console/encuestas/{survey_id}/enviar", data=form, follow_redirects=True)
    assert "0 personas invitadas (2 ya lo estaban)" in again.get_data(as_text=True)
    with db.session() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 2
        assert s.get(Survey, survey_id).status == "sending"
        sends = s.scalars(select(AuditLog).where(AuditLog.action == "survey_send")).all()
        assert [a.detail["invited"] for a in sends] == [2, 0]


def test_reviewers_and_counsellors_are_refused(console_app, as_role):
    survey_id = seed(console_app)
    for role in ("reviewer", "counsellor"):
        client = as_role(role)
        for path in ("/console/encuestas", f"/console/encuestas/{survey_id}",
                     f"/console/encuestas/{survey_id}/csv"):
            assert client.get(path).status_code == 403, (role, path)
        token = csrf_token(client, "/console/")
        assert client.post(f"/console/encuestas/{survey_id}/enviar",
                           data={"csrf_token": token}).status_code == 403
        assert "Encuestas" not in client.get("/console/").get_data(as_text=True)
