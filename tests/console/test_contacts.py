"""Console "Contactos" through Flask: who sees whom, search, profile, export, erasure."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from models import AuditLog, Contact, HandoffRequest
from tests.console.conftest import FARMER_PHONE, VIOLENT_PHONE, csrf_token
from tests.fakes.signing import FAKE_PHONE
from tests.privacy.helpers import HER_WORDS, give_her_history

pytestmark = pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")


@pytest.fixture
def people(client, db, conversations):
    """Her (with history and a hand-off), a farmer, and a contact with a violence conversation."""
    give_her_history(client, db)
    with db.session() as s:
        return {p: s.scalar(select(Contact.id).where(Contact.phone == p))
                for p in (FAKE_PHONE, FARMER_PHONE, VIOLENT_PHONE)}


def test_search_by_last_digits_region_and_subscription(as_role, people):
    admin = as_role("admin")
    html = admin.get("/console/contactos?digitos=001").get_data(as_text=True)
    assert FAKE_PHONE in html and FARMER_PHONE not in html
    html = admin.get("/console/contactos?region=junin&suscripcion=prices").get_data(as_text=True)
    assert FAKE_PHONE in html and FARMER_PHONE not in html
    html = admin.get("/console/contactos?canal=whatsapp").get_data(as_text=True)
    assert "Ningún contacto" in html
    html = admin.get("/console/contactos?activo_dias=7&idioma=es").get_data(as_text=True)
    assert FAKE_PHONE in html and FARMER_PHONE in html


def test_counsellors_see_only_contacts_with_a_hand_off(as_role, people):
    html = as_role("counsellor").get("/console/contactos").get_data(as_text=True)
    assert FAKE_PHONE in html and FARMER_PHONE not in html
    assert as_role("counsellor").get(
        f"/console/contactos/{people[FARMER_PHONE]}/perfil").status_code == 404
    assert as_role("reviewer").get("/console/contactos").status_code == 403


def test_profile_shows_consent_subscriptions_surveys_deliveries_and_words(as_role, people):
    html = as_role("coordinator").get(
        f"/console/contactos/{people[FAKE_PHONE]}/perfil").get_data(as_text=True)
    for expected in ("versión c1", "por sms", "precios papa junin", "cosecha", "completed",
                     "Hola rosaura, tu zapallo", HER_WORDS):
        assert expected in html, expected
    assert "Borrar contacto" not in html  # only an admin erases


def test_a_violence_conversation_stays_with_counsellors_on_the_profile(as_role, people, db):
    with db.session() as s:
        s.add(HandoffRequest(contact_id=people[VIOLENT_PHONE]))
    path = f"/console/contactos/{people[VIOLENT_PHONE]}/perfil"
    html = as_role("admin").get(path).get_data(as_text=True)
    assert "solo la ve el rol consejera" in html and "matar" not in html
    exported = json.loads(as_role("admin").get(
        f"/console/contactos/{people[VIOLENT_PHONE]}/exportar").get_data())
    assert exported["messages"] == [] and exported["handoffs"] == []
    html = as_role("counsellor").get(path).get_data(as_text=True)
    assert "redactado" in html
    with db.session() as s:
        actions = s.scalars(select(AuditLog.action)).all()
    assert "restricted_denied" in actions and "restricted_view" in actions


def test_export_is_json_and_audited(as_role, people, db):
    response = as_role("coordinator").get(f"/console/contactos/{people[FAKE_PHONE]}/exportar")
    assert response.mimetype == "application/json" and "attachment" in response.headers[
        "Content-Disposition"]
    assert json.loads(response.get_data())["messages"][0]["body"] == HER_WORDS
    with db.session() as s:
        assert s.scalar(select(AuditLog.target).where(AuditLog.action == "contact_export")) == \
            f"contact:{people[FAKE_PHONE]}"


def test_only_an_admin_erases_with_csrf_and_confirmation(as_role, people, db):
    path = f"/console/contactos/{people[FAKE_PHONE]}/borrar"
    profile = f"/console/contactos/{people[FAKE_PHONE]}/perfil"
    coordinator = as_role("coordinator")
    assert coordinator.post(path, data={"csrf_token": csrf_token(coordinator, profile),
                                        "confirmar": "BORRAR"}).status_code == 403
    admin = as_role("admin")
    assert admin.post(path, data={"confirmar": "BORRAR"}).status_code == 400  # no CSRF token
    token = csrf_token(admin, profile)
    admin.post(path, data={"csrf_token": token, "confirmar": "no"})
    with db.session() as s:
        assert s.get(Contact, people[FAKE_PHONE]) is not None  # not confirmed: nothing happens
    response = admin.post(path, data={"csrf_token": token, "confirmar": "borrar"},
                          follow_redirects=True)
    assert "Contacto borrado" in response.get_data(as_text=True)
    with db.session() as s:
        assert s.get(Contact, people[FAKE_PHONE]) is None
        assert s.scalar(select(func.count()).select_from(Contact)) == 2
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "contact_erased"))
        assert audit.email == "admin@chaski.test" and audit.detail["by"] == "console"
        assert FAKE_PHONE[1:] not in json.dumps(audit.detail) and audit.target is None


def test_erasing_someone_with_a_violence_conversation_hides_no_one_else(as_role, people, db,
                                                                         talk):
    talk("q cancion suena en la radio ahorita", phone=FARMER_PHONE)
    admin = as_role("admin")
    path = f"/console/contactos/{people[VIOLENT_PHONE]}/borrar"
    admin.post(path, data={"csrf_token": csrf_token(admin, "/console/contactos"),
                           "confirmar": "BORRAR"})
    with db.session() as s:
        assert s.get(Contact, people[VIOLENT_PHONE]) is None
    html = as_role("reviewer").get("/console/revision").get_data(as_text=True)
    assert "q cancion suena en la radio ahorita" in html  # her unlinked rows hide no one
