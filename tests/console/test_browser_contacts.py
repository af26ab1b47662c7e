"""Contactos in headless Chromium: search, a profile, an erasure (screenshots in test-output)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.conversations.engine import Inbound
from bot.db import migrate
from bot.services import services
from models import AuditLog, Contact, Message, Subscription, User, utcnow
from tests.conftest import make_app
from tests.console.conftest import _HASH, email_of
from tests.console.test_browser import CHROMIUM, browser, page, shot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")]
HER = "+51900000041"  # FAKE test numbers
NEIGHBOUR = "+51900000042"


@pytest.fixture
def live(tmp_path):
    """Serve the app on a free port (SQLite) with an admin and two contacts."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make test` installs it (apt-get install chromium)")
    url = f"sqlite:///{tmp_path / 'contacts.sqlite'}"
    migrate(url)
    app = make_app(url)
    engine = services(app).engine
    for phone, text in ((HER, "hola"), (HER, "siembro oca en ayaviri"), (NEIGHBOUR, "hola")):
        engine.handle(Inbound(address=phone, body=text))
    with services(app).db.session() as s:
        s.add(User(email=email_of("admin"), role="admin", password_hash=_HASH, active=True,
                   failed_logins=0))
        her = s.scalar(select(Contact).where(Contact.phone == HER))
        her.region, her.province, her.consent_at = "puno", "Melgar", utcnow()
        her.consent_channel, her.consent_version = "sms", "c1"
        s.add(Subscription(contact_id=her.id, kind="alerts", hazard="helada", region="puno"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        services(app).db.dispose()


def test_an_admin_finds_a_contact_reads_her_profile_and_erases_her(live, page):  # noqa: F811
    app, base = live
    sign_in(page, base, "admin")
    page.click("header >> text=Contactos")
    page.fill("input[name=digitos]", "041")
    page.select_option("select[name=region]", "puno")
    page.click("button:has-text('Buscar')")
    rows = page.locator("#contact-results tbody tr")
    assert rows.count() == 1 and HER in rows.first.inner_text()
    shot(page, "contacts-01-search")

    rows.first.locator("a").click()
    page.wait_for_selector("h1:has-text('Contacto')")
    profile = page.locator("#profile").inner_text()
    assert "Melgar" in profile and "versión c1" in profile
    assert "alertas helada puno" in page.locator("#subscriptions").inner_text()
    assert page.locator(".thread", has_text="siembro oca en ayaviri").count() == 1
    shot(page, "contacts-02-profile")

    page.fill("input[name=confirmar]", "BORRAR")
    page.click("button:has-text('Borrar contacto')")
    page.wait_for_selector("text=Contacto borrado")
    assert HER not in page.content() and NEIGHBOUR in page.content()
    shot(page, "contacts-03-erased")
    with services(app).db.session() as s:
        assert s.scalars(select(Contact.phone)).all() == [NEIGHBOUR]
        assert not any("ayaviri" in (m.body or "") for m in s.scalars(select(Message)))
        assert s.scalar(select(AuditLog.detail).where(AuditLog.action == "contact_erased"))[
            "what"] == "a contact was erased"
