"""Alertas and Precios without a browser: roles, CSRF, audit, limits, feeds managed by admins."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from bot.knowledge.alerts import import_alerts
from models import Alert, AlertFeed, AuditLog, OutboxMessage, PriceReport
from tests.console.conftest import csrf_token
from tests.fakes.feed_server import FEEDS
from tests.fakes.outbox import add_contacts
from tests.fakes.topics import DATA, NOW


def audits(db, action):
    with db.session() as s:
        return s.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def pending_alert(db):
    with db.session() as s:
        add_contacts(s, 2, region="puno")
        import_alerts(s, FEEDS / "oasis_a2_thunderstorm.xml", NOW)
        return s.scalar(select(Alert.id))


def test_reviewers_cannot_act_and_every_action_needs_csrf_and_is_audited(as_role, db, clock):
    clock(NOW)
    alert_id = pending_alert(db)
    reviewer = as_role("reviewer")
    token = csrf_token(reviewer, "/console/")
    refused = reviewer.post(f"/console/alertas/{alert_id}/aprobar", data={"csrf_token": token})
    assert refused.status_code == 403
    coordinator = as_role("coordinator")
    page = coordinator.get("/console/alertas").get_data(as_text=True)
    assert "KSTO1055887203" in page and "ninguna de nuestras regiones" in page
    assert coordinator.post(f"/console/alertas/{alert_id}/retener").status_code == 400  # no token
    token = csrf_token(coordinator, "/console/alertas")
    held = coordinator.post(f"/console/alertas/{alert_id}/retener", data={"csrf_token": token})
    assert held.status_code == 302
    assert [a.target for a in audits(db, "alert_hold")] == ["KSTO1055887203"]
    again = coordinator.post(f"/console/alertas/{alert_id}/retener", data={"csrf_token": token},
                             follow_redirects=True)
    assert "Solo un aviso pendiente se puede retener" in again.get_data(as_text=True)
    cancelled = coordinator.post(f"/console/alertas/{alert_id}/cancelar", data={"csrf_token": token})
    assert cancelled.status_code == 302 and len(audits(db, "alert_cancel")) == 1
    with db.session() as s:
        assert s.get(Alert, alert_id).state == "cancelled"
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # no one was sent it
    assert coordinator.post("/console/alertas/999/aprobar", data={"csrf_token": token}).status_code == 404


def test_only_admins_manage_feeds(as_role, db):
    coordinator = as_role("coordinator")
    token = csrf_token(coordinator, "/console/alertas")
    form = {"csrf_token": token, "url": "https://example.org/cap.atom", "mode": "manual"}
    assert coordinator.post("/console/alertas/fuentes", data=form).status_code == 403
    admin = as_role("admin")
    form["csrf_token"] = csrf_token(admin, "/console/alertas")
    assert admin.post("/console/alertas/fuentes", data=form).status_code == 302
    bad = admin.post("/console/alertas/fuentes", data={**form, "url": "file:///etc/passwd"},
                     follow_redirects=True)
    assert "only http:// and https://" in bad.get_data(as_text=True)
    with db.session() as s:
        [feed] = s.scalars(select(AlertFeed)).all()
    assert feed.mode == "manual" and len(audits(db, "feed_add")) == 1
    assert admin.post(f"/console/alertas/fuentes/{feed.id}/quitar",
                      data={"csrf_token": form["csrf_token"]}).status_code == 302
    assert len(audits(db, "feed_remove")) == 1


def test_uploads_refuse_oversized_and_non_utf8_files_and_write_nothing(as_role, db, clock):
    clock(NOW)
    client = as_role("coordinator")
    token = csrf_token(client, "/console/precios")
    big = client.post("/console/precios/subir", data={"csrf_token": token,
                      "file": (io.BytesIO(b"x" * 5_000_001), "grande.csv")}, follow_redirects=True)
    assert "pasa de 5 MB" in big.get_data(as_text=True)
    latin = client.post("/console/precios/subir", data={"csrf_token": token,
                        "file": ((DATA / "prices_latin1.csv").open("rb"), "latin.csv")},
                        follow_redirects=True)
    assert "latin.csv: not UTF-8" in latin.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PriceReport)) == 0
    big_cap = client.post("/console/alertas/subir", data={"csrf_token": token,
                          "file": (io.BytesIO(b"<" * 2_000_001), "big.xml")}, follow_redirects=True)
    assert "pasa de 2 MB" in big_cap.get_data(as_text=True)
    assert len(audits(db, "prices_upload_refused")) == 2 and len(audits(db, "alert_upload_refused")) == 1
