"""A coordinator in headless Chromium: create, preview and schedule a broadcast; answer a hand-off;
create, preview and pause a reminder."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.db import migrate
from bot.jobs import JOBS
from bot.services import services
from bot.outbound.sender import Sender
from models import Contact, HandoffRequest, OutboxMessage, User
from tests.conftest import make_app
from tests.console.conftest import _HASH, email_of
from tests.console.test_browser import CHROMIUM, browser, page, shot, sign_in  # noqa: F401
from tests.fakes.twilio_api import start_fake_twilio
from tests.fakes.outbox import NOON, SMS_FROM, WA_FROM, add_contacts, give_date

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")]
HANDOFF_PHONE = "+51910000400"  # FAKE test number


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Serve the app (SQLite) sending to a fake Twilio API, with a coordinator and contacts."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make test` installs it (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("browser-campaigns")
    url = f"sqlite:///{tmp / 'console.sqlite'}"
    migrate(url)
    fake = start_fake_twilio()
    app = make_app(url, NLU_DATA_DIR=str(tmp / "data"), TWILIO_API_BASE_URL=fake.base_url,
                   TWILIO_SMS_FROM=SMS_FROM, TWILIO_WHATSAPP_FROM=WA_FROM, OUTBOX_RATE_SMS=0,
                   OUTBOX_RATE_WHATSAPP=0)
    with services(app).db.session() as s:
        s.add(User(email=email_of("coordinator"), role="coordinator", password_hash=_HASH,
                   active=True, failed_logins=0))
        add_contacts(s, 3, region="junin")
        add_contacts(s, 2, start=910_000_100, region="puno", language="qu")
        [asker] = add_contacts(s, 1, start=910_000_400, region="cusco", channels=["whatsapp"],
                               last_whatsapp_inbound_at=NOON - timedelta(hours=1))
        s.add(HandoffRequest(contact_id=asker.id, topic=None, urgent=False,
                             created_at=NOON - timedelta(hours=1)))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", fake
    finally:
        server.shutdown()
        fake.stop()
        services(app).db.dispose()


@pytest.fixture(autouse=True)
def fixed_noon(monkeypatch):
    """The console's clock reads 12:00 Lima, as the job and the sender below do."""
    monkeypatch.setattr("bot.console.campaigns.utcnow", lambda: NOON)
    monkeypatch.setattr("bot.console.handoffs.utcnow", lambda: NOON)
    monkeypatch.setattr("bot.console.reminders.utcnow", lambda: NOON)


def test_a_coordinator_creates_previews_and_schedules_a_broadcast(live, page):
    app, base, fake = live
    sign_in(page, base, "coordinator")
    page.click("header >> text=Campañas")
    page.click("text=Nueva campaña")
    page.fill("#name", "Helada Junín")
    page.fill("#text_es", "Helada esta noche en Junín: cubra sus cultivos")
    page.fill("#seg_region", "junin")
    page.click("button:has-text('Ver textos como SMS')")
    assert "Helada esta noche en Junin: cubra sus cultivos" in page.inner_text("#preview-es")
    assert "1 segmento" in page.inner_text("#preview-es")
    assert page.input_value("#seg_region") == "junin"  # what was typed is kept
    shot(page, "20-campaign-form-texts")
    page.click("button:has-text('Crear borrador')")
    page.wait_for_selector("h1:has-text('Vista previa')")
    assert page.inner_text("#recipients") == "3"
    assert page.locator("td.segments").first.inner_text() == "1"
    assert page.locator("td.body", has_text="Junin: cubra").count() == 1
    shot(page, "21-campaign-preview")
    page.click("button:has-text('Programar envío')")
    page.wait_for_selector("text=Envío programado")
    shot(page, "22-campaign-scheduled")

    with services(app).db.session() as s:
        assert JOBS["send_due_broadcasts"](s, NOON)["queued"] == 3
    assert Sender(services(app)).run_once(NOON) == {"sent": 3}
    page.reload()
    assert page.inner_text("#count-sent") == "3"
    assert len(fake.messages) == 3
    shot(page, "23-campaign-sent")
    page.click("header >> text=Campañas")
    row = page.locator("tr", has_text="Helada Junín")
    assert "enviada" in row.inner_text()
    shot(page, "26-campaign-list")


def test_a_coordinator_answers_a_handoff(live, page):
    app, base, fake = live
    sign_in(page, base, "coordinator")
    page.click("header >> text=Derivaciones")
    row = page.locator("tr", has_text=HANDOFF_PHONE)
    row.locator("textarea[name=body]").fill("Hola, soy Rosa de la ONG. Mañana la llamo.")
    row.locator("button:has-text('Responder')").click()
    page.wait_for_selector("text=Respuesta en la bandeja de salida")
    shot(page, "24-handoff-replied")
    assert Sender(services(app)).run_once(NOON) == {"sent": 1}
    page.reload()
    assert "enviada" in page.locator("tr", has_text=HANDOFF_PHONE).inner_text()
    with services(app).db.session() as s:
        key = s.scalar(select(OutboxMessage.key).where(OutboxMessage.source == "handoff"))
        contact = s.scalar(select(Contact).where(Contact.phone == HANDOFF_PHONE))
    assert key.endswith(":reply:1") and contact is not None
    assert fake.messages[-1]["to"] == f"whatsapp:{HANDOFF_PHONE}"
    shot(page, "25-handoff-reply-sent")


def test_a_coordinator_creates_previews_and_pauses_a_reminder(live, page):
    from datetime import date

    app, base, _fake = live
    today = date(2026, 11, 23)  # NOON's date in Lima
    with services(app).db.session() as s:
        junin = s.scalars(select(Contact).where(Contact.region == "junin").order_by(Contact.id)).all()
        for contact, ago in zip(junin, (30, 30, 28)):  # two due today, one in two days
            give_date(s, contact, "siembra", today - timedelta(days=ago))
    sign_in(page, base, "coordinator")
    page.click("header >> text=Recordatorios")
    page.click("text=Nuevo recordatorio")
    page.fill("#name", "Aporque papa")
    page.fill("#date_field", "siembra")
    page.fill("#days", "treinta")
    page.fill("#text_es", "Ya pasaron 30 días de tu siembra: es tiempo del primer aporque.")
    page.fill("#seg_region", "junin")
    page.click("button:has-text('Crear y ver vista previa')")
    assert "Los días deben ser un número entero" in page.inner_text("#form-error")
    assert page.input_value("#seg_region") == "junin"  # what was typed is kept
    shot(page, "27-reminder-form-error")
    page.fill("#days", "30")
    page.click("button:has-text('Crear y ver vista previa')")
    page.wait_for_selector("h1:has-text('Recordatorio: Aporque papa')")
    assert page.inner_text("#recipients") == "3"
    assert page.inner_text("#sms-segments") == "3" and page.inner_text("#cost") == "0.15"
    assert "2026-11-23" in page.inner_text("#per-day") and "2026-11-25" in page.inner_text("#per-day")
    assert page.locator("td.body", has_text="Ya pasaron 30 dias").count() == 1  # GSM-7
    shot(page, "28-reminder-preview")
    page.fill("#dias", "1")
    page.click("button:has-text('Ver')")
    page.wait_for_url("**dias=1")
    assert page.inner_text("#recipients") == "2"
    page.click("button:has-text('Pausar')")
    page.wait_for_selector("text=Recordatorio en pausa")
    assert page.inner_text("#status") == "en pausa"
    shot(page, "29-reminder-paused")
    page.click("header >> text=Recordatorios")
    assert "en pausa" in page.locator("tr", has_text="Aporque papa").inner_text()
