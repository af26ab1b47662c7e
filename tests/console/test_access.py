"""Who reaches what: every role on every page, restricted conversations, CSRF, lock-out, audit."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.console.access import ACCESS
from models import AuditLog, User, utcnow
from tests.console.conftest import (FARMER_PHONE, PASSWORD, VIOLENT_PHONE, csrf_token, email_of,
                                    sign_in)
from tests.fakes.signing import inbound_form, post_signed

PAGES = {"dashboard": "/console/", "conversations": "/console/conversaciones",
         "knowledge": "/console/conocimiento", "unanswered": "/console/preguntas",
         "review": "/console/revision", "retrain": "/console/reentrenar",
         "handoffs": "/console/derivaciones", "users": "/console/usuarios",
         "audit": "/console/auditoria", "campaigns": "/console/campanas",
         "surveys": "/console/encuestas", "reminders": "/console/recordatorios",
         "alerts": "/console/alertas", "prices": "/console/precios",
         "contacts": "/console/contactos", "texts": "/console/textos",
         "whatsapp_templates": "/console/plantillas"}
POSTS = ["/console/revision/exportar", "/console/reentrenar", "/console/revision/1",
         "/console/derivaciones/1/close", "/console/derivaciones/1/responder",
         "/console/campanas/nueva", "/console/campanas/1/programar",
         "/console/campanas/1/cancelar", "/console/usuarios", "/console/usuarios/1/desactivar",
         "/console/logout", "/console/encuestas/1/enviar", "/console/recordatorios/nuevo",
         "/console/recordatorios/1/pausar", "/console/recordatorios/1/reanudar",
         "/console/recordatorios/1/cancelar", "/console/alertas/1/aprobar", "/console/alertas/1/retener",
         "/console/alertas/1/cancelar", "/console/alertas/subir", "/console/alertas/fuentes",
         "/console/alertas/fuentes/1/quitar", "/console/precios/subir",
         "/console/contactos/1/borrar",
         "/console/textos/guardar", "/console/textos/subir",
         "/console/conocimiento/guardar", "/console/conocimiento/borradores/1/publicar",
         "/console/preguntas/responder", "/console/preguntas/fuera"]

# A query SQLAlchemy warns about (e.g. an accidental cartesian product) fails the test.
pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")


def audit_rows(db, action: str) -> list[AuditLog]:
    with db.session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)
                              .order_by(AuditLog.id)))


def test_the_access_table_covers_every_page():
    assert set(PAGES) == set(ACCESS)


def test_logged_out_reaches_only_the_login_page(console_app, conversations):
    client = console_app.test_client()
    for path in [*PAGES.values(), f"/console/contactos/{conversations[FARMER_PHONE]}"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/console/login"), path
    assert client.get("/console/login").status_code == 200
    token = csrf_token(client)
    for path in POSTS:
        assert client.post(path, data={"csrf_token": token}).status_code == 302, path
        assert client.post(path).status_code == 400, path  # and without a token, CSRF first


@pytest.mark.parametrize("role", ["admin", "coordinator", "reviewer", "counsellor", "translator",
                                  "technician"])
def test_every_role_on_every_page(as_role, role, conversations):
    client = as_role(role)
    for name, path in PAGES.items():
        expected = 200 if role in ACCESS[name] else 403
        assert client.get(path).status_code == expected, (role, path)
    farmer = client.get(f"/console/contactos/{conversations[FARMER_PHONE]}")
    reads = role in ACCESS["conversations"]
    assert farmer.status_code == (200 if reads else 403)
    violent = client.get(f"/console/contactos/{conversations[VIOLENT_PHONE]}")
    assert violent.status_code == (200 if role == "counsellor" else 404 if reads else 403)


def test_a_violence_conversation_is_listed_and_shown_only_to_counsellors(as_role, conversations,
                                                                         db):
    reviewer, admin, counsellor = as_role("reviewer"), as_role("admin"), as_role("counsellor")
    for client in (reviewer, admin):
        html = client.get("/console/conversaciones").get_data(as_text=True)
        assert f"/console/contactos/{conversations[VIOLENT_PHONE]}" not in html
        assert VIOLENT_PHONE not in html
        assert "redactado" not in html and "huancayo" in html
    assert audit_rows(db, "restricted_list") == []
    html = counsellor.get("/console/conversaciones").get_data(as_text=True)
    assert VIOLENT_PHONE in html and "redactado" in html
    listed = audit_rows(db, "restricted_list")
    assert [(r.email, r.detail["contacts"]) for r in listed] == [
        (email_of("counsellor"), [conversations[VIOLENT_PHONE]])]
    counsellor.get("/console/conversaciones?q=huancayo")  # shows only the farmer
    assert len(audit_rows(db, "restricted_list")) == 1
    # The list never carries the victim's words: they were never stored.
    assert "me quiere matar" not in html
    thread = counsellor.get(f"/console/contactos/{conversations[VIOLENT_PHONE]}")
    assert "queda registrada en la auditoría" in thread.get_data(as_text=True)
    views = audit_rows(db, "restricted_view")
    assert [(v.email, v.target) for v in views] == [
        (email_of("counsellor"), f"contact:{conversations[VIOLENT_PHONE]}")]
    assert {d.email for d in audit_rows(db, "restricted_denied")} == set()
    reviewer.get(f"/console/contactos/{conversations[VIOLENT_PHONE]}")
    assert [d.email for d in audit_rows(db, "restricted_denied")] == [email_of("reviewer")]


def test_reviewers_see_masked_phone_numbers(as_role, conversations):
    masked = FARMER_PHONE[:-4] + "****"
    reviewer_html = as_role("reviewer").get("/console/conversaciones").get_data(as_text=True)
    assert masked in reviewer_html and FARMER_PHONE not in reviewer_html
    thread = as_role("reviewer").get(f"/console/contactos/{conversations[FARMER_PHONE]}")
    assert FARMER_PHONE not in thread.get_data(as_text=True)
    assert FARMER_PHONE in as_role("coordinator").get("/console/conversaciones").get_data(
        as_text=True)
    # Nor can a reviewer find a contact by searching for the number.
    found = as_role("reviewer").get("/console/conversaciones?q=900000012").get_data(as_text=True)
    assert "Ningún mensaje" in found


def test_a_post_without_csrf_token_is_rejected(as_role, console_app, client):
    admin = as_role("admin")
    response = admin.post("/console/usuarios", data={"email": "x@chaski.test", "role": "admin",
                                                      "password": "x" * 12})
    assert response.status_code == 400 and "formulario" in response.get_data(as_text=True)
    response = admin.post("/console/usuarios", data={"email": "x@chaski.test", "role": "admin",
                                                      "password": "x" * 12, "csrf_token": "forged"})
    assert response.status_code == 400
    ok = admin.post("/console/usuarios", data={"email": "x@chaski.test", "role": "admin",
                                                "password": "x" * 12,
                                                "csrf_token": csrf_token(admin, "/console/usuarios")})
    assert ok.status_code == 302
    assert client.post("/console/login", data={"email": email_of("admin"),
                                                "password": PASSWORD}).status_code == 400


def test_the_twilio_webhook_stays_exempt_and_signed(client):
    assert post_signed(client, "/webhooks/twilio", inbound_form("hola")).status_code == 200
    assert client.post("/webhooks/twilio", data=inbound_form("hola")).status_code == 403


def test_sign_in_is_audited_and_cookies_are_safe(console_app, staff, db, database_url):
    client = console_app.test_client()
    response = sign_in(client, email_of("reviewer"))
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert [r.email for r in audit_rows(db, "login")] == [email_of("reviewer")]
    from tests.conftest import make_app

    https_app = make_app(database_url, PUBLIC_URL="https://chaski.example.org")
    assert https_app.config["SESSION_COOKIE_SECURE"] is True


def test_wrong_passwords_lock_the_account(console_app, staff, db, as_role):
    client = console_app.test_client()
    for _ in range(4):
        assert sign_in(client, email_of("reviewer"), "wrong").status_code == 401
    locked = sign_in(client, email_of("reviewer"), "wrong")
    assert "bloqueada" in locked.get_data(as_text=True)
    refused = sign_in(client, email_of("reviewer"))  # the right password, too late
    assert refused.status_code == 401 and "bloqueada" in refused.get_data(as_text=True)
    assert len(audit_rows(db, "login_failed")) == 4
    assert len(audit_rows(db, "login_locked")) == 2
    assert "bloqueada hasta" in as_role("admin").get("/console/usuarios").get_data(as_text=True)
    with db.session() as s:  # fifteen minutes later
        s.get(User, staff["reviewer"]).locked_until = utcnow() - timedelta(seconds=1)
    assert sign_in(client, email_of("reviewer")).status_code == 302


def test_an_admin_unlocks_and_deactivates(console_app, staff, db, as_role):
    client = console_app.test_client()
    for _ in range(5):
        sign_in(client, email_of("reviewer"), "wrong")
    admin = as_role("admin")
    token = csrf_token(admin, "/console/usuarios")
    admin.post(f"/console/usuarios/{staff['reviewer']}/desbloquear", data={"csrf_token": token})
    assert sign_in(client, email_of("reviewer")).status_code == 302
    admin.post(f"/console/usuarios/{staff['reviewer']}/desactivar", data={"csrf_token": token})
    assert client.get("/console/").status_code == 302  # the open session ends too
    assert sign_in(client, email_of("reviewer")).status_code == 401


def test_unknown_user_and_open_redirect(console_app, staff, db):
    client = console_app.test_client()
    assert sign_in(client, "nadie@chaski.test").status_code == 401
    assert audit_rows(db, "login_failed")[0].email == "nadie@chaski.test"
    response = client.post("/console/login?next=//evil.example/x",
                           data={"email": email_of("admin"), "password": PASSWORD,
                                 "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/console/"


def test_logout_needs_a_post_with_token(as_role):
    client = as_role("coordinator")
    assert client.get("/console/logout").status_code == 405
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert client.get("/console/").status_code == 302
